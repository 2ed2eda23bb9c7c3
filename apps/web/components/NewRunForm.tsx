'use client';
/**
 * Starts a run: a base model, one technique from the API's registry and its parameters
 * as JSON, prefilled with the defaults from the technique's parameter schema. The API
 * validates the parameters and names the offending field; a parameter error is shown
 * beside the parameters, anything else under the form.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { gql, GraphqlRequestError } from '../client/graphql';
import { defaultParams, describeParams } from '../client/params-schema';
import { CREATE_RUN, TECHNIQUES, type ModelSummary, type Technique } from '../client/queries';

/** The single step this form sends is step 0; the API names its fields under this path. */
const PARAMS_FIELD = 'recipe.steps[0].params';

export function NewRunForm({ projectId, models, onCreated }: { projectId: string; models: ModelSummary[]; onCreated: () => Promise<void> }) {
  const [techniques, setTechniques] = useState<Technique[]>([]);
  const [modelId, setModelId] = useState('');
  const [techniqueId, setTechniqueId] = useState('');
  const [params, setParams] = useState('{}');
  const [seed, setSeed] = useState('0');
  const [error, setError] = useState<string | null>(null);
  const [paramsError, setParamsError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    gql<{ techniques: Technique[] }>(TECHNIQUES).then(
      (d) => setTechniques(d.techniques),
      (e: Error) => setError(`could not load techniques: ${e.message}`),
    );
  }, []);
  // Keep a valid selection as the lists load or change.
  // Imported models first: they are the usual starting point; produced ones follow.
  // Only models whose import has finished can be run on.
  const usable = models.filter((m) => m.status === 'ready');
  const ordered = [...usable.filter((m) => !m.producedByRun), ...usable.filter((m) => m.producedByRun)];
  useEffect(() => {
    if (!ordered.some((m) => m.id === modelId) && ordered[0]) setModelId(ordered[0].id);
  }, [ordered, modelId]);
  useEffect(() => {
    if (!techniques.some((t) => t.id === techniqueId) && techniques[0]) setTechniqueId(techniques[0].id);
  }, [techniques, techniqueId]);

  const technique = techniques.find((t) => t.id === techniqueId);
  const paramRows = useMemo(() => (technique ? describeParams(technique.paramsSchema) : []), [technique]);
  // A newly chosen technique starts from its own defaults; edits stay until the next change.
  useEffect(() => {
    if (!technique) return;
    setParams(JSON.stringify(defaultParams(technique.paramsSchema), null, 2));
    setParamsError(null);
  }, [technique]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setParamsError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(params || '{}');
    } catch {
      setParamsError('Parameters must be a JSON object, e.g. {"minSize": 1024}');
      return;
    }
    setBusy(true);
    try {
      await gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: techniqueId, params: parsed }] }, seed: Number(seed) || 0 });
      await onCreated();
    } catch (err) {
      const field = err instanceof GraphqlRequestError ? err.errors[0]?.extensions?.field : undefined;
      if (field?.startsWith(PARAMS_FIELD)) setParamsError(err instanceof Error ? err.message : String(err));
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  if (models.length === 0) return <p className="empty">Upload a model first.</p>;
  if (usable.length === 0) return <p className="empty">No model is ready yet: imports are validated by a worker first.</p>;
  return (
    <form onSubmit={submit} data-testid="new-run-form">
      <div className="field">
        <label htmlFor="base-model">Base model</label>
        <select id="base-model" value={modelId} onChange={(e) => setModelId(e.target.value)}>
          {ordered.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="technique">Technique</label>
        <select id="technique" value={techniqueId} onChange={(e) => setTechniqueId(e.target.value)}>
          {techniques.map((t) => (
            <option key={t.id} value={t.id}>
              {t.title} ({t.id})
            </option>
          ))}
        </select>
        {technique ? <span className="hint">{technique.description}</span> : null}
      </div>
      <div className="field">
        <label htmlFor="params">Parameters (JSON)</label>
        <textarea
          id="params"
          value={params}
          onChange={(e) => setParams(e.target.value)}
          spellCheck={false}
          rows={Math.min(12, Math.max(3, params.split('\n').length))}
          aria-invalid={paramsError ? true : undefined}
          aria-describedby={paramsError ? 'params-error' : undefined}
        />
        {paramsError ? (
          <div className="error" role="alert" id="params-error" data-testid="params-error">
            {paramsError}
          </div>
        ) : null}
        <span className="hint">Prefilled with the technique&apos;s defaults; omitted parameters take them too.</span>
        {paramRows.length > 0 ? (
          <table className="params-list" data-testid="params-list">
            <tbody>
              {paramRows.map((p) => (
                <tr key={p.name} data-param={p.name}>
                  <td className="mono">{p.name}</td>
                  <td className="mono muted">
                    {p.type}
                    {p.range ? `, ${p.range}` : ''}
                  </td>
                  <td className="mono">{p.defaultValue === null ? '' : `= ${p.defaultValue}`}</td>
                  <td className="muted">{p.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : technique ? (
          <span className="hint">This technique takes no parameters.</span>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor="seed">Seed</label>
        <input id="seed" type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} />
      </div>
      {error ? <div className="error" role="alert">{error}</div> : null}
      <button className="button" type="submit" disabled={busy || !techniqueId || !modelId}>
        Start run
      </button>
    </form>
  );
}
