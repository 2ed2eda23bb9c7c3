'use client';
/**
 * Composes a recipe: a name, steps (a technique each, with a parameter form built from
 * its JSON Schema; added, moved, removed), and optional evaluation and calibration
 * settings (forms from their JSON Schemas too). Problems show beside their field as the
 * draft is edited and when the API refuses it; saving a name again with different
 * content makes a new version.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { apiFieldIssues } from '../client/api-issues';
import { gql } from '../client/graphql';
import { defaultParams } from '../client/params-schema';
import type { Technique } from '../client/queries';
import {
  draftIssuesFromApi,
  issueCount,
  newStep,
  noIssues,
  recipeFromDraft,
  SAVE_RECIPE,
  validateDraft,
  type DraftIssues,
  type RecipeDraft,
  type RecipeSettingsSchemas,
  type SavedRecipe,
} from '../client/recipes';
import { SchemaForm } from './SchemaForm';
import { TechniqueSelect } from './TechniqueSelect';

type Obj = Record<string, unknown>;

export function RecipeBuilder({
  teamId,
  techniques,
  settings,
  draft,
  onDraft,
  knownIds,
  onSaved,
}: {
  teamId: string;
  techniques: Technique[];
  settings: RecipeSettingsSchemas | null;
  draft: RecipeDraft;
  onDraft(d: RecipeDraft): void;
  /** Ids of the versions listed now: a save answering one of them changed nothing. */
  knownIds: ReadonlySet<string>;
  onSaved(saved: SavedRecipe, unchanged: boolean): Promise<void>;
}) {
  const [touched, setTouched] = useState(false);
  const [tried, setTried] = useState(false);
  const [server, setServer] = useState<DraftIssues | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const schemaOf = (id: string) => techniques.find((t) => t.id === id)?.paramsSchema;
  const local = useMemo(() => validateDraft(draft, (id) => techniques.find((t) => t.id === id)?.paramsSchema, settings), [draft, techniques, settings]);
  const shown = touched || tried ? local : noIssues(draft);
  const stepIssues = (i: number) => [...(shown.steps[i] ?? []), ...(server?.steps[i] ?? [])];

  const edit = (d: RecipeDraft) => {
    setTouched(true);
    setServer(null);
    onDraft(d);
  };
  const setStep = (i: number, patch: Partial<RecipeDraft['steps'][number]>) => edit({ ...draft, steps: draft.steps.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  const move = (i: number, by: number) => {
    const steps = [...draft.steps];
    const [s] = steps.splice(i, 1);
    steps.splice(i + by, 0, s!);
    edit({ ...draft, steps });
  };
  const addStep = () => {
    const t = techniques.find((x) => x.family === 'quantize') ?? techniques[0];
    if (t) edit({ ...draft, steps: [...draft.steps, newStep(t.id, defaultParams(t.paramsSchema))] });
  };

  async function save(e: FormEvent) {
    e.preventDefault();
    setTried(true);
    setError(null);
    setServer(null);
    if (issueCount(local) > 0) return;
    setBusy(true);
    try {
      const r = await gql<{ saveRecipe: SavedRecipe }>(SAVE_RECIPE, { teamId, name: draft.name.trim(), recipe: recipeFromDraft(draft), description: draft.description.trim() || null });
      setTried(false);
      setTouched(false);
      await onSaved(r.saveRecipe, knownIds.has(r.saveRecipe.id));
    } catch (err) {
      const found = apiFieldIssues(err);
      if (found.length > 0) setServer(draftIssuesFromApi(draft, found));
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const other = [...shown.other, ...(server?.other ?? [])];
  const nameIssue = shown.name ?? server?.name ?? null;
  return (
    <form onSubmit={save} noValidate data-testid="recipe-builder">
      <div className="field">
        <label htmlFor="recipe-name">Name</label>
        <input id="recipe-name" value={draft.name} onChange={(e) => edit({ ...draft, name: e.target.value })} aria-invalid={nameIssue ? true : undefined} data-testid="recipe-name" />
        {nameIssue ? (
          <span className="field-error" role="alert" data-testid="recipe-name-error">
            {nameIssue}
          </span>
        ) : (
          <span className="hint">Saving a name that exists with different content makes its next version.</span>
        )}
      </div>
      <div className="field">
        <label htmlFor="recipe-description">Description</label>
        <input id="recipe-description" value={draft.description} onChange={(e) => edit({ ...draft, description: e.target.value })} placeholder="optional" />
      </div>
      <ol className="recipe-steps">
        {draft.steps.map((s, i) => {
          return (
            <li key={s.key} data-testid="recipe-step" data-index={i}>
              <fieldset className="param-group">
                <legend>Step {i + 1}</legend>
                <div className="field">
                  <label htmlFor={`step-${s.key}-technique`}>Technique</label>
                  <TechniqueSelect
                    id={`step-${s.key}-technique`}
                    value={s.technique}
                    techniques={techniques}
                    testId="step-technique"
                    markUnknown
                    onChange={(id) => {
                      const t = techniques.find((x) => x.id === id);
                      setStep(i, { technique: id, params: t ? defaultParams(t.paramsSchema) : {} });
                    }}
                  />
                </div>
                {schemaOf(s.technique) !== undefined ? (
                  <SchemaForm idPrefix={`step-${s.key}-`} schema={schemaOf(s.technique)} value={s.params} issues={stepIssues(i)} onChange={(params: Obj) => setStep(i, { params })} />
                ) : null}
                <p className="inline-form">
                  <button type="button" className="button-secondary" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move step ${i + 1} up`}>
                    Up
                  </button>
                  <button type="button" className="button-secondary" onClick={() => move(i, 1)} disabled={i === draft.steps.length - 1} aria-label={`Move step ${i + 1} down`}>
                    Down
                  </button>
                  <button type="button" className="button-danger" onClick={() => edit({ ...draft, steps: draft.steps.filter((_, j) => j !== i) })} data-testid="remove-step">
                    Remove step {i + 1}
                  </button>
                </p>
              </fieldset>
            </li>
          );
        })}
      </ol>
      <p>
        <button type="button" className="button-secondary" onClick={addStep} data-testid="add-step">
          Add a step
        </button>
      </p>
      {settings ? (
        <>
          <fieldset className="param-group" data-testid="recipe-eval">
            <legend>
              <label className="check">
                <input type="checkbox" checked={draft.eval !== null} onChange={(e) => edit({ ...draft, eval: e.target.checked ? {} : null })} data-testid="recipe-eval-toggle" /> Evaluation settings
              </label>
            </legend>
            <span className="hint">Unset fields take the worker&apos;s defaults. Per-layer sensitivity draws a heatmap on the run page.</span>
            {draft.eval !== null ? (
              <SchemaForm idPrefix="eval-" schema={settings.eval} value={draft.eval} issues={[...shown.eval, ...(server?.eval ?? [])]} onChange={(v: Obj) => edit({ ...draft, eval: v })} />
            ) : null}
          </fieldset>
          <fieldset className="param-group" data-testid="recipe-calibration">
            <legend>
              <label className="check">
                <input type="checkbox" checked={draft.calibration !== null} onChange={(e) => edit({ ...draft, calibration: e.target.checked ? defaultParams(settings.calibration) : null })} /> Calibration text
              </label>
            </legend>
            {draft.calibration !== null ? (
              <SchemaForm idPrefix="calibration-" schema={settings.calibration} value={draft.calibration} issues={[...shown.calibration, ...(server?.calibration ?? [])]} onChange={(v: Obj) => edit({ ...draft, calibration: v })} />
            ) : null}
          </fieldset>
        </>
      ) : null}
      {other.length > 0 ? (
        <div className="field-error" role="alert" data-testid="recipe-error">
          {other.join('; ')}
        </div>
      ) : null}
      {error ? (
        <div className="error" role="alert" data-testid="recipe-error">
          {error}
        </div>
      ) : null}
      <button className="button" type="submit" disabled={busy} data-testid="save-recipe">
        {busy ? 'Saving…' : 'Save recipe'}
      </button>
    </form>
  );
}
