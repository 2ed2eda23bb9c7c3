'use client';
/**
 * A project's sweeps with their progress, kept live by the project's run events, and a
 * form to start one from a saved recipe of the team.
 */
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { BaseModelSelect } from '../../../../components/BaseModelSelect';
import { NavBar } from '../../../../components/NavBar';
import { RecipeSelect } from '../../../../components/RecipeSelect';
import { PageState } from '../../../../components/PageState';
import { ScrollTable } from '../../../../components/ScrollTable';
import { ProgressBar } from '../../../../components/ProgressBar';
import { useLiveReload } from '../../../../components/useLiveReload';
import { usePolling } from '../../../../components/usePolling';
import { useSession } from '../../../../components/useSession';
import { defaultBaseModel } from '../../../../client/base-model-choice';
import { gql } from '../../../../client/graphql';
import { PROJECT, type ProjectAnswer } from '../../../../client/queries';
import type { RecipeChoice } from '../../../../client/recipes';
import { PROJECT_RUN_EVENTS } from '../../../../client/subscriptions';
import { CREATE_SWEEP, RECIPES, SWEEPS, parseSpace, sweepProgress, type SweepMode, type SweepSummary } from '../../../../client/sweeps';

const EXAMPLE_SPACE = '[{"path": "steps[0].params.bits", "values": [2, 4, 8]}]';

export default function SweepsPage() {
  const { id } = useParams<{ id: string }>()!;
  const router = useRouter();
  useSession();
  const load = useCallback(
    () => Promise.all([gql<{ sweeps: SweepSummary[] }>(SWEEPS, { projectId: id }), gql<ProjectAnswer>(PROJECT, { id })]).then(([s, p]) => ({ sweeps: s.sweeps, project: p.project })),
    [id],
  );
  const { data, error, reload } = usePolling(load, () => false, 2000);
  const anyActive = data?.sweeps.some((s) => s.status === 'active' || s.status === 'canceling') ?? false;
  useLiveReload(PROJECT_RUN_EVENTS, { projectId: id }, reload, anyActive);
  const project = data?.project;

  const [recipes, setRecipes] = useState<RecipeChoice[] | null>(null);
  useEffect(() => {
    if (!project) return;
    gql<{ recipes: RecipeChoice[] }>(RECIPES, { teamId: project.team.id }).then(
      (d) => setRecipes(d.recipes),
      () => setRecipes([]),
    );
  }, [project]);

  const models = project?.models;
  // The project's base model by default: the newest ready model is often a run's output, and
  // compressing it again (int8 weights quantized anew) is not what a sweep of the recipe means.
  const preferredModelId = useMemo(() => (models ? defaultBaseModel(models, []) : null), [models]);
  const [form, setForm] = useState({ name: '', recipeId: '', baseModelId: '', mode: 'grid' as SweepMode, space: EXAMPLE_SPACE, maxRuns: '3', parallelism: '1' });
  const [formError, setFormError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const start = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    try {
      const recipeId = form.recipeId || recipes?.[0]?.id;
      const baseModelId = form.baseModelId || preferredModelId;
      if (!form.name.trim()) throw new Error('give the sweep a name');
      if (!recipeId) throw new Error('save a recipe first: a sweep varies a saved recipe');
      if (!baseModelId) throw new Error('the project has no ready model to compress');
      const maxRuns = Number(form.maxRuns);
      const parallelism = Number(form.parallelism);
      if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new Error(`runs at most must be a positive whole number, got "${form.maxRuns}"`);
      if (!Number.isInteger(parallelism) || parallelism < 1) throw new Error(`runs at a time must be a positive whole number, got "${form.parallelism}"`);
      setStarting(true);
      const r = await gql<{ createSweep: { id: string } }>(CREATE_SWEEP, { projectId: id, baseModelId, name: form.name.trim(), mode: form.mode, recipeId, space: parseSpace(form.space), maxRuns, parallelism });
      router.push(`/sweeps/${r.createSweep.id}`);
    } catch (err) {
      setFormError((err as Error).message);
    } finally {
      setStarting(false);
    }
  };

  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name, href: `/projects/${project.id}` }, { label: 'Sweeps' }] : [{ label: 'Sweeps' }]} />
      <main>
        <div className="page-head">
          <div>
            <h1>Sweeps</h1>
            <p className="muted">Runs of one saved recipe over a grid or random draws of its settings, or searching toward a trade-off frontier.</p>
          </div>
        </div>
        <PageState loading={!data && !error} error={error} what="sweeps" onRetry={() => void reload()} />
        {data ? (
          <section className="card" aria-labelledby="sweeps-head">
            <h2 id="sweeps-head">Sweeps ({data.sweeps.length})</h2>
            <PageState what="sweeps" empty={data.sweeps.length === 0 ? 'No sweeps yet.' : null} testId="sweeps">
              <ScrollTable testId="sweeps-table" columns={['Name', 'Mode', 'Status', 'Progress']}>
                {data.sweeps.map((s) => {
                  const p = sweepProgress(s);
                  return (
                    <tr key={s.id} data-testid="sweep-row" data-status={s.status}>
                      <td className="wrap">
                        <Link href={`/sweeps/${s.id}`} prefetch={false}>
                          {s.name}
                        </Link>
                      </td>
                      <td>{s.mode}</td>
                      <td>{s.status}</td>
                      <td>
                        <ProgressBar fraction={p.fraction} message={`${p.finished}/${s.maxRuns} runs`} />
                      </td>
                    </tr>
                  );
                })}
              </ScrollTable>
            </PageState>
          </section>
        ) : null}
        {data ? (
          <form className="card" onSubmit={start} aria-labelledby="new-sweep-head" data-testid="new-sweep-form">
            <h2 id="new-sweep-head">Start a sweep</h2>
            {recipes !== null && recipes.length === 0 ? <p className="hint">
                The team has no saved recipes yet; <Link href={`/projects/${id}/recipes`}>compose and save one</Link> to sweep over its settings.
              </p> : null}
            <div className="inline-form">
              <label>
                Name <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} data-testid="sweep-name" />
              </label>
              <label>
                Recipe{' '}
                <RecipeSelect value={form.recipeId || recipes?.[0]?.id || ''} recipes={recipes ?? []} onChange={(recipeId) => setForm({ ...form, recipeId })} testId="sweep-recipe" />
              </label>
              <label>
                Base model{' '}
                <BaseModelSelect
                  value={form.baseModelId || preferredModelId || ''}
                  models={models ?? []}
                  preferred={preferredModelId}
                  onChange={(baseModelId) => setForm({ ...form, baseModelId })}
                  testId="sweep-base-model"
                />
              </label>
              <label>
                Mode{' '}
                <select value={form.mode} onChange={(e) => setForm({ ...form, mode: e.target.value as SweepMode })}>
                  <option value="grid">grid</option>
                  <option value="random">random</option>
                </select>
              </label>
              <label>
                Runs at most <input inputMode="numeric" size={4} value={form.maxRuns} onChange={(e) => setForm({ ...form, maxRuns: e.target.value })} data-testid="sweep-max-runs" />
              </label>
              <label>
                At a time <input inputMode="numeric" size={3} value={form.parallelism} onChange={(e) => setForm({ ...form, parallelism: e.target.value })} />
              </label>
            </div>
            <label className="label" htmlFor="sweep-space">
              Search space (JSON)
            </label>
            <textarea id="sweep-space" className="mono" rows={3} style={{ width: '100%' }} value={form.space} onChange={(e) => setForm({ ...form, space: e.target.value })} data-testid="sweep-space" />
            {formError ? (
              <div className="error" role="alert">
                {formError}
              </div>
            ) : null}
            <button type="submit" className="button" disabled={starting} data-testid="start-sweep">
              {starting ? 'Starting…' : 'Start sweep'}
            </button>
          </form>
        ) : null}
      </main>
    </>
  );
}
