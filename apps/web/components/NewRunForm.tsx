'use client';
/**
 * Starts a run: a base model (the project's base by default), one technique from the
 * API's registry, and its parameters as a form generated from the technique's JSON Schema,
 * prefilled with the defaults, or as JSON for those who prefer it. Problems are shown
 * beside the field, before sending (schema checks here) and after (the API's own).
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { baseModelChoices, defaultBaseModel } from '../client/base-model-choice';
import { apiFieldIssues, issuesUnder } from '../client/api-issues';
import { gql } from '../client/graphql';
import { defaultParams } from '../client/params-schema';
import { validateParams, type ParamIssue } from '../client/params-validate';
import { CREATE_RUN, type ModelSummary, type Technique } from '../client/queries';
import { BaseModelSelect } from './BaseModelSelect';
import { SchemaForm } from './SchemaForm';
import { TechniqueSelect } from './TechniqueSelect';

/** The single step this form sends is step 0; the API names its fields under this path. */
const PARAMS_FIELD = 'recipe.steps[0].params';

type Params = Record<string, unknown>;

/** The API's field paths under the parameters, as the form names them ("minSize", "loss.alpha"). */
export function apiIssues(err: unknown): ParamIssue[] {
  return issuesUnder(apiFieldIssues(err), PARAMS_FIELD);
}

export function NewRunForm({
  projectId,
  models,
  runBaseModelIds,
  techniques,
  onCreated,
}: {
  projectId: string;
  models: ModelSummary[];
  runBaseModelIds: string[];
  techniques: Technique[];
  onCreated: () => Promise<void>;
}) {
  const [modelId, setModelId] = useState('');
  const [techniqueId, setTechniqueId] = useState('');
  const [params, setParams] = useState<Params>({});
  const [view, setView] = useState<'form' | 'json'>('form');
  const [json, setJson] = useState('{}');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [serverIssues, setServerIssues] = useState<ParamIssue[]>([]);
  const [seed, setSeed] = useState('0');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);

  const usable = useMemo(() => baseModelChoices(models), [models]);
  const preferred = useMemo(() => defaultBaseModel(models, runBaseModelIds), [models, runBaseModelIds]);
  useEffect(() => {
    if (!usable.some((m) => m.id === modelId) && preferred) setModelId(preferred);
  }, [usable, modelId, preferred]);
  useEffect(() => {
    // Quantization is the usual first try, so it is the first offered.
    const first = techniques.find((t) => t.family === 'quantize') ?? techniques[0];
    if (!techniques.some((t) => t.id === techniqueId) && first) setTechniqueId(first.id);
  }, [techniques, techniqueId]);

  const technique = techniques.find((t) => t.id === techniqueId);
  // A newly chosen technique starts from its own defaults; edits stay until the next change.
  useEffect(() => {
    if (!technique) return;
    const d = defaultParams(technique.paramsSchema);
    setParams(d);
    setJson(JSON.stringify(d, null, 2));
    setJsonError(null);
    setServerIssues([]);
    setTried(false);
  }, [technique]);

  const clientIssues = useMemo(() => (technique ? validateParams(technique.paramsSchema, params) : []), [technique, params]);
  // Messages show once the field is edited or a start was tried, not on an untouched form.
  const [touched, setTouched] = useState(false);
  const issues = [...(touched || tried ? clientIssues : []), ...serverIssues];

  function editParams(next: Params) {
    setParams(next);
    setJson(JSON.stringify(next, null, 2));
    setServerIssues([]);
    setTouched(true);
  }

  function editJson(text: string) {
    setJson(text);
    setServerIssues([]);
    setTouched(true);
    try {
      const parsed: unknown = JSON.parse(text || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      setParams(parsed as Params);
      setJsonError(null);
    } catch {
      setJsonError('Parameters must be a JSON object, e.g. {"minSize": 1024}');
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setServerIssues([]);
    setTried(true);
    if (jsonError || clientIssues.length > 0) return;
    setBusy(true);
    try {
      await gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: techniqueId, params }] }, seed: Number(seed) || 0 });
      setTried(false);
      setTouched(false);
      await onCreated();
    } catch (err) {
      const found = apiIssues(err);
      if (found.length > 0) setServerIssues(found);
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  if (models.length === 0) return <p className="empty">Upload a model first.</p>;
  if (usable.length === 0) return <p className="empty">No model is ready yet: imports are validated by a worker first.</p>;
  if (techniques.length === 0) return <p className="loading">Loading techniques…</p>;
  return (
    <form onSubmit={submit} data-testid="new-run-form" noValidate>
      <div className="field">
        <label htmlFor="base-model">Base model</label>
        <BaseModelSelect id="base-model" value={modelId} models={usable} preferred={preferred} onChange={setModelId} />
      </div>
      <div className="field">
        <label htmlFor="technique">Technique</label>
        <TechniqueSelect id="technique" value={techniqueId} techniques={techniques} onChange={setTechniqueId} />
      </div>
      <div className="field">
        <div className="section-head">
          <span className="label">Parameters</span>
          <span role="group" aria-label="Parameters view" className="toggle">
            <button type="button" aria-pressed={view === 'form'} onClick={() => setView('form')} data-testid="view-form">
              Form
            </button>
            <button type="button" aria-pressed={view === 'json'} onClick={() => setView('json')} data-testid="view-json">
              JSON
            </button>
          </span>
        </div>
        {view === 'form' && technique ? (
          jsonError ? (
            <div className="error" role="alert">
              {jsonError} Fix it in the JSON view first.
            </div>
          ) : (
            <SchemaForm schema={technique.paramsSchema} value={params} issues={issues} onChange={editParams} />
          )
        ) : (
          <>
            <textarea
              id="params"
              aria-label="Parameters as JSON"
              value={json}
              onChange={(e) => editJson(e.target.value)}
              spellCheck={false}
              rows={Math.min(14, Math.max(3, json.split('\n').length))}
              aria-invalid={jsonError || issues.length > 0 ? true : undefined}
            />
            {jsonError ? (
              <div className="field-error" role="alert" data-testid="param-error">
                {jsonError}
              </div>
            ) : null}
            {issues.map((i) => (
              <div key={i.path + i.message} className="field-error" role="alert" data-testid="param-error" data-path={i.path}>
                {i.path} {i.message}
              </div>
            ))}
          </>
        )}
        <span className="hint">Prefilled with the technique&apos;s defaults; a parameter left unset takes its default.</span>
      </div>
      <div className="field">
        <label htmlFor="seed">Seed</label>
        <input id="seed" type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} />
      </div>
      {error ? (
        <div className="error" role="alert">
          {error}
        </div>
      ) : null}
      <button className="button" type="submit" disabled={busy || !techniqueId || !modelId}>
        Start run
      </button>
    </form>
  );
}
