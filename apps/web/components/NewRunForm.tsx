'use client';
/**
 * Starts a run: a base model, one technique from the API's registry and its parameters
 * as JSON. The API validates the parameters against the technique's schema and names
 * the offending field, which this form shows as it comes.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { gql } from '../client/graphql';
import { CREATE_RUN, TECHNIQUES, type ModelSummary, type Technique } from '../client/queries';

export function NewRunForm({ projectId, models, onCreated }: { projectId: string; models: ModelSummary[]; onCreated: () => Promise<void> }) {
  const [techniques, setTechniques] = useState<Technique[]>([]);
  const [modelId, setModelId] = useState('');
  const [techniqueId, setTechniqueId] = useState('');
  const [params, setParams] = useState('{}');
  const [seed, setSeed] = useState('0');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    gql<{ techniques: Technique[] }>(TECHNIQUES).then(
      (d) => setTechniques(d.techniques),
      (e: Error) => setError(`could not load techniques: ${e.message}`),
    );
  }, []);
  // Keep a valid selection as the lists load or change.
  // Imported models first: they are the usual starting point; produced ones follow.
  const ordered = [...models.filter((m) => !m.producedByRun), ...models.filter((m) => m.producedByRun)];
  useEffect(() => {
    if (!ordered.some((m) => m.id === modelId) && ordered[0]) setModelId(ordered[0].id);
  }, [ordered, modelId]);
  useEffect(() => {
    if (!techniques.some((t) => t.id === techniqueId) && techniques[0]) setTechniqueId(techniques[0].id);
  }, [techniques, techniqueId]);

  const technique = techniques.find((t) => t.id === techniqueId);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(params || '{}');
    } catch {
      setError('Parameters must be a JSON object, e.g. {"minSize": 1024}');
      return;
    }
    setBusy(true);
    try {
      await gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: techniqueId, params: parsed }] }, seed: Number(seed) || 0 });
      await onCreated();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  if (models.length === 0) return <p className="empty">Upload a model first.</p>;
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
        <textarea id="params" value={params} onChange={(e) => setParams(e.target.value)} spellCheck={false} />
        <span className="hint">Leave {'{}'} for the technique&apos;s defaults.</span>
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
