import type { Technique } from '../client/queries';

/**
 * The technique picker of the run form and of each recipe step: every technique by title and
 * id, and the chosen one's description. `markUnknown` keeps a value no technique has (a recipe
 * saved with a technique since removed) visible as an "(unknown)" choice instead of hiding it.
 */
export function TechniqueSelect({
  id,
  value,
  techniques,
  onChange,
  testId,
  markUnknown = false,
}: {
  id: string;
  value: string;
  techniques: Technique[];
  onChange: (techniqueId: string) => void;
  testId?: string;
  markUnknown?: boolean;
}) {
  const technique = techniques.find((t) => t.id === value);
  return (
    <>
      <select id={id} value={value} data-testid={testId} onChange={(e) => onChange(e.target.value)}>
        {markUnknown && !technique ? <option value={value}>{value || 'choose'} (unknown)</option> : null}
        {techniques.map((t) => (
          <option key={t.id} value={t.id}>
            {t.title} ({t.id})
          </option>
        ))}
      </select>
      {technique ? <span className="hint">{technique.description}</span> : null}
    </>
  );
}
