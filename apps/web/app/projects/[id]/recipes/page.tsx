'use client';
/**
 * The team's saved recipes, seen from a project: the latest version of each (with every
 * version on demand), a builder to compose one or to clone a saved one to a new name or
 * a new version, and starting a run of a saved version on one of the project's models.
 */
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { BaseModelSelect } from '../../../../components/BaseModelSelect';
import { NavBar } from '../../../../components/NavBar';
import { RecipeSelect } from '../../../../components/RecipeSelect';
import { PageState } from '../../../../components/PageState';
import { ScrollTable } from '../../../../components/ScrollTable';
import { RecipeBuilder } from '../../../../components/RecipeBuilder';
import { usePolling } from '../../../../components/usePolling';
import { useSession } from '../../../../components/useSession';
import { baseModelChoices, defaultBaseModel } from '../../../../client/base-model-choice';
import { formatDate, recipeSummary } from '../../../../client/format';
import { gql } from '../../../../client/graphql';
import { defaultParams } from '../../../../client/params-schema';
import { PROJECT, TECHNIQUES, type ProjectAnswer, type Technique } from '../../../../client/queries';
import {
  cloneName,
  CREATE_RUN_FROM_RECIPE,
  draftFromSaved,
  newStep,
  RECIPE_SETTINGS_SCHEMAS,
  RECIPE_VERSIONS,
  SAVED_RECIPES,
  type RecipeDraft,
  type RecipeSettingsSchemas,
  type SavedRecipe,
} from '../../../../client/recipes';
import { stepSummaries } from '../../../../client/runs-view';

interface PageData {
  project: ProjectAnswer['project'];
  techniques: Technique[];
  settings: RecipeSettingsSchemas;
  recipes: SavedRecipe[];
}

const NO_DEFAULTS = new Map<string, Record<string, unknown>>();

function blankDraft(techniques: Technique[]): RecipeDraft {
  const t = techniques.find((x) => x.family === 'quantize') ?? techniques[0];
  return { name: '', description: '', steps: t ? [newStep(t.id, defaultParams(t.paramsSchema))] : [], eval: null, calibration: null };
}

function stepsText(recipe: unknown): string {
  return stepSummaries(recipe, NO_DEFAULTS)
    .map((s) => `${s.technique}${s.changed ? ` (${s.changed})` : ''}`)
    .join(' → ');
}

export default function RecipesPage() {
  const { id } = useParams<{ id: string }>()!;
  const router = useRouter();
  useSession();
  const load = useCallback(async (): Promise<PageData> => {
    const [p, t, s] = await Promise.all([gql<ProjectAnswer>(PROJECT, { id }), gql<{ techniques: Technique[] }>(TECHNIQUES), gql<{ recipeSettingsSchemas: RecipeSettingsSchemas }>(RECIPE_SETTINGS_SCHEMAS)]);
    const r = await gql<{ recipes: SavedRecipe[] }>(SAVED_RECIPES, { teamId: p.project.team.id });
    return { project: p.project, techniques: t.techniques, settings: s.recipeSettingsSchemas, recipes: r.recipes };
  }, [id]);
  const { data, error, reload } = usePolling(load, () => false, 2000);
  const project = data?.project;

  const [draft, setDraft] = useState<RecipeDraft | null>(null);
  const [builderNote, setBuilderNote] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (data && draft === null) setDraft(blankDraft(data.techniques));
  }, [data, draft]);

  const [versions, setVersions] = useState<{ name: string; list: SavedRecipe[] } | null>(null);
  const [versionsError, setVersionsError] = useState<string | null>(null);
  const showVersions = async (name: string) => {
    try {
      const r = await gql<{ recipes: SavedRecipe[] }>(RECIPE_VERSIONS, { teamId: project!.team.id, name });
      setVersions({ name, list: r.recipes });
      setVersionsError(null);
    } catch (e) {
      setVersionsError((e as Error).message);
    }
  };

  const knownIds = useMemo(() => new Set([...(data?.recipes ?? []), ...(versions?.list ?? [])].map((r) => r.id)), [data, versions]);
  const startable = useMemo(() => {
    const all = new Map<string, SavedRecipe>();
    for (const r of [...(data?.recipes ?? []), ...(versions?.list ?? [])]) all.set(r.id, r);
    return [...all.values()].sort((a, b) => a.name.localeCompare(b.name) || b.version - a.version);
  }, [data, versions]);

  const loadIntoBuilder = (r: SavedRecipe, asNewName: boolean) => {
    const name = asNewName ? cloneName(r.name, data?.recipes.map((x) => x.name) ?? []) : r.name;
    setDraft(draftFromSaved(r, name));
    setSaved(null);
    setBuilderNote(asNewName ? `Cloned ${r.name} v${r.version} as ${name}: change what you like and save.` : `Editing ${r.name} from v${r.version}: saving with changes makes v${r.version + 1}.`);
    document.getElementById('builder-head')?.scrollIntoView({ block: 'start' });
  };

  // Starting a run of a saved version.
  const ready = project ? baseModelChoices(project.models) : [];
  const preferred = project ? defaultBaseModel(project.models, []) : null;
  const [start, setStart] = useState({ recipeId: '', baseModelId: '', seed: '0' });
  const [startError, setStartError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const startRun = async (e: FormEvent) => {
    e.preventDefault();
    setStartError(null);
    const recipeId = start.recipeId || startable[0]?.id;
    const baseModelId = start.baseModelId || preferred || ready[0]?.id;
    if (!recipeId) return setStartError('save a recipe first');
    if (!baseModelId) return setStartError('the project has no ready model to compress');
    const seed = Number(start.seed);
    if (!Number.isInteger(seed) || seed < 0) return setStartError(`the seed must be a whole number of at least 0, got "${start.seed}"`);
    setStarting(true);
    try {
      const r = await gql<{ createRun: { id: string } }>(CREATE_RUN_FROM_RECIPE, { projectId: id, baseModelId, recipeId, seed });
      router.push(`/runs/${r.createRun.id}`);
    } catch (err) {
      setStartError((err as Error).message);
      setStarting(false);
    }
  };

  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name, href: `/projects/${project.id}` }, { label: 'Recipes' }] : [{ label: 'Recipes' }]} />
      <main>
        <PageState loading={!data && !error} error={error} what="recipes" />
        {data && project ? (
          <>
            <div className="page-head">
              <div className="wrap">
                <h1>Recipes</h1>
                <p className="muted">Saved recipes belong to {project.team.name}: every project of the team can run them, on any base model.</p>
              </div>
              <Link href={`/projects/${project.id}/sweeps`} prefetch={false}>
                Sweeps over a recipe →
              </Link>
            </div>

            <section className="card" aria-labelledby="saved-head">
              <h2 id="saved-head">Saved recipes</h2>
              <PageState what="recipes" empty={data.recipes.length === 0 ? 'No saved recipes yet: compose one below.' : null} testId="recipes">
                <ScrollTable testId="recipes-table" columns={['Name', 'Latest', 'Steps', 'Saved', 'Actions']}>
                  {data.recipes.map((r) => (
                    <tr key={r.id} data-testid="recipe-row" data-name={r.name} data-version={r.version}>
                      <td className="wrap">
                        <strong>{r.name}</strong>
                        {r.description ? <div className="muted small">{r.description}</div> : null}
                      </td>
                      <td>v{r.version}</td>
                      <td className="mono small wrap" title={recipeSummary(r.recipe)}>
                        {stepsText(r.recipe)}
                      </td>
                      <td>{formatDate(r.createdAt)}</td>
                      <td>
                        <span className="inline-form">
                          <button type="button" className="button-secondary" onClick={() => loadIntoBuilder(r, false)} data-testid="recipe-edit">
                            New version
                          </button>
                          <button type="button" className="button-secondary" onClick={() => loadIntoBuilder(r, true)} data-testid="recipe-clone">
                            Clone
                          </button>
                          <button type="button" className="button-secondary" onClick={() => void showVersions(r.name)} data-testid="recipe-versions">
                            Versions
                          </button>
                        </span>
                      </td>
                    </tr>
                  ))}
                </ScrollTable>
              </PageState>
              {versionsError ? (
                <div className="error" role="alert">
                  Could not load the versions: {versionsError}
                </div>
              ) : null}
              {versions ? (
                <div data-testid="recipe-version-list">
                  <h3>Versions of {versions.name}</h3>
                  <ul>
                    {versions.list.map((v) => (
                      <li key={v.id} data-testid="recipe-version" data-version={v.version}>
                        v{v.version} · {formatDate(v.createdAt)} · <span className="mono small">{stepsText(v.recipe)}</span>{' '}
                        <button type="button" className="button-secondary" onClick={() => loadIntoBuilder(v, true)}>
                          Clone
                        </button>
                      </li>
                    ))}
                  </ul>
                </div>
              ) : null}
            </section>

            <section className="card" aria-labelledby="start-head">
              <h2 id="start-head">Start a run from a recipe</h2>
              {startable.length === 0 ? (
                <p className="empty">Save a recipe first.</p>
              ) : ready.length === 0 ? (
                <p className="empty">The project has no ready model yet: upload one on the project page.</p>
              ) : (
                <form className="inline-form" onSubmit={startRun} data-testid="start-from-recipe">
                  <label>
                    Recipe{' '}
                    <RecipeSelect value={start.recipeId || startable[0]!.id} recipes={startable} onChange={(recipeId) => setStart({ ...start, recipeId })} testId="start-recipe" />
                  </label>
                  <label>
                    Base model{' '}
                    <BaseModelSelect
                      value={start.baseModelId || preferred || ready[0]!.id}
                      models={ready}
                      preferred={preferred}
                      onChange={(baseModelId) => setStart({ ...start, baseModelId })}
                      testId="start-base-model"
                    />
                  </label>
                  <label>
                    Seed <input type="number" min={0} value={start.seed} onChange={(e) => setStart({ ...start, seed: e.target.value })} style={{ width: '6rem' }} />
                  </label>
                  <button type="submit" className="button" disabled={starting} data-testid="start-run">
                    {starting ? 'Starting…' : 'Start run'}
                  </button>
                </form>
              )}
              {startError ? (
                <div className="error" role="alert" data-testid="start-error">
                  {startError}
                </div>
              ) : null}
            </section>

            <section className="card" aria-labelledby="builder-head">
              <div className="section-head">
                <h2 id="builder-head">Recipe builder</h2>
                <button
                  type="button"
                  className="button-secondary"
                  onClick={() => {
                    setDraft(blankDraft(data.techniques));
                    setBuilderNote(null);
                    setSaved(null);
                  }}
                >
                  Start over
                </button>
              </div>
              {builderNote ? (
                <p className="hint" data-testid="builder-note">
                  {builderNote}
                </p>
              ) : null}
              {saved ? (
                <p role="status" className="verdict-better" data-testid="recipe-saved">
                  {saved}
                </p>
              ) : null}
              {draft ? (
                <RecipeBuilder
                  teamId={project.team.id}
                  techniques={data.techniques}
                  settings={data.settings}
                  draft={draft}
                  onDraft={(d) => {
                    setDraft(d);
                    setSaved(null);
                  }}
                  knownIds={knownIds}
                  onSaved={async (r, unchanged) => {
                    setSaved(unchanged ? `No change: ${r.name} v${r.version} already holds this recipe.` : `Saved ${r.name} v${r.version}.`);
                    setBuilderNote(null);
                    setStart((s) => ({ ...s, recipeId: r.id }));
                    if (versions?.name === r.name) await showVersions(r.name);
                    await reload();
                  }}
                />
              ) : null}
            </section>
          </>
        ) : null}
      </main>
    </>
  );
}
