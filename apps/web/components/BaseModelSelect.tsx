import { baseModelChoices, type ModelChoice } from '../client/base-model-choice';

/**
 * The base-model picker of the run form, the recipes page's "start a run" and the sweep form:
 * the ready models, imported ones first, the project's base marked.
 */
export function BaseModelSelect({
  id,
  value,
  models,
  preferred,
  onChange,
  testId,
}: {
  id?: string;
  value: string;
  models: ReadonlyArray<ModelChoice>;
  /** The project's base model (defaultBaseModel), marked as such. */
  preferred: string | null;
  onChange: (modelId: string) => void;
  testId?: string;
}) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
      {baseModelChoices(models).map((m) => (
        <option key={m.id} value={m.id}>
          {m.name}
          {m.id === preferred ? ' (project base)' : ''}
        </option>
      ))}
    </select>
  );
}
