/**
 * The recipe builder's model: a draft (name, description, steps with their parameters,
 * optional evaluation and calibration settings), turned into the recipe JSON the API
 * saves, read back from a saved version for cloning, and checked against the techniques'
 * and settings' JSON Schemas so problems show beside their field before saving. Pure.
 */
import { issuesUnder } from './api-issues';
import { validateParams, type ParamIssue } from './params-validate';

type Obj = Record<string, unknown>;

export interface SavedRecipe {
  id: string;
  name: string;
  version: number;
  description: string | null;
  createdAt: string;
  recipe: unknown;
}

/** What a picker of saved recipe versions shows. */
export type RecipeChoice = Pick<SavedRecipe, 'id' | 'name' | 'version'>;

export interface RecipeSettingsSchemas {
  eval: unknown;
  calibration: unknown;
}

const SAVED_FIELDS = 'id name version description createdAt recipe';
export const SAVED_RECIPES = `query SavedRecipes($teamId: ID!) { recipes(teamId: $teamId) { ${SAVED_FIELDS} } }`;
export const RECIPE_VERSIONS = `query RecipeVersions($teamId: ID!, $name: String!) { recipes(teamId: $teamId, name: $name) { ${SAVED_FIELDS} } }`;
export const RECIPE_SETTINGS_SCHEMAS = `query RecipeSettingsSchemas { recipeSettingsSchemas { eval calibration } }`;
export const SAVE_RECIPE = `mutation SaveRecipe($teamId: ID!, $name: String!, $recipe: JSON!, $description: String) {
  saveRecipe(teamId: $teamId, name: $name, recipe: $recipe, description: $description) { ${SAVED_FIELDS} }
}`;
export const CREATE_RUN_FROM_RECIPE = `mutation CreateRunFromRecipe($projectId: ID!, $baseModelId: ID!, $recipeId: ID!, $seed: Int) {
  createRun(projectId: $projectId, baseModelId: $baseModelId, recipeId: $recipeId, seed: $seed) { id }
}`;

export interface DraftStep {
  /** Stable across reordering, for React keys and element ids. */
  key: number;
  technique: string;
  params: Obj;
}

export interface RecipeDraft {
  name: string;
  description: string;
  steps: DraftStep[];
  /** Absent: the worker's defaults. */
  eval: Obj | null;
  calibration: Obj | null;
}

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

let nextKey = 1;
export function newStep(technique: string, params: Obj): DraftStep {
  return { key: nextKey++, technique, params };
}

/** The recipe JSON saveRecipe takes; empty settings are left out so the defaults apply. */
export function recipeFromDraft(d: RecipeDraft): Obj {
  const recipe: Obj = { steps: d.steps.map((s) => ({ technique: s.technique, params: s.params })) };
  if (d.eval && Object.keys(d.eval).length > 0) recipe.eval = d.eval;
  if (d.calibration) recipe.calibration = d.calibration;
  return recipe;
}

/** A draft from a saved version (for a clone or a new version); tolerant of shapes it does not know. */
export function draftFromSaved(saved: Pick<SavedRecipe, 'name' | 'description' | 'recipe'>, name: string): RecipeDraft {
  const r = isRecord(saved.recipe) ? saved.recipe : {};
  const steps = Array.isArray(r.steps) ? r.steps.filter(isRecord).map((s) => newStep(typeof s.technique === 'string' ? s.technique : '', isRecord(s.params) ? { ...s.params } : {})) : [];
  return { name, description: saved.description ?? '', steps, eval: isRecord(r.eval) ? { ...r.eval } : null, calibration: isRecord(r.calibration) ? { ...r.calibration } : null };
}

/** A name not yet taken among `taken`: "name-copy", then "name-copy-2", ... */
export function cloneName(name: string, taken: ReadonlyArray<string>): string {
  const used = new Set(taken);
  let candidate = `${name}-copy`;
  for (let i = 2; used.has(candidate); i++) candidate = `${name}-copy-${i}`;
  return candidate;
}

/** Problems of a draft, by where they are shown. */
export interface DraftIssues {
  name: string | null;
  steps: ParamIssue[][];
  eval: ParamIssue[];
  calibration: ParamIssue[];
  /** Problems with no field of their own (e.g. an unknown technique). */
  other: string[];
}

export function noIssues(d: RecipeDraft): DraftIssues {
  return { name: null, steps: d.steps.map(() => []), eval: [], calibration: [], other: [] };
}

export function issueCount(i: DraftIssues): number {
  return (i.name ? 1 : 0) + i.steps.reduce((n, s) => n + s.length, 0) + i.eval.length + i.calibration.length + i.other.length;
}

export function validateDraft(d: RecipeDraft, schemaOf: (technique: string) => unknown, settings: RecipeSettingsSchemas | null): DraftIssues {
  const out = noIssues(d);
  const name = d.name.trim();
  if (!name) out.name = 'give the recipe a name';
  else if (name.length > 200) out.name = 'at most 200 characters';
  if (d.steps.length === 0) out.other.push('a recipe needs at least one step');
  d.steps.forEach((s, i) => {
    const schema = schemaOf(s.technique);
    if (schema === undefined) out.other.push(`step ${i + 1}: unknown technique "${s.technique}"`);
    else out.steps[i] = validateParams(schema, s.params);
  });
  if (settings && d.eval) out.eval = validateParams(settings.eval, d.eval);
  if (settings && d.calibration) out.calibration = validateParams(settings.calibration, d.calibration);
  return out;
}

/** The API's problems with a saved recipe, placed as the builder shows them. */
export function draftIssuesFromApi(d: RecipeDraft, issues: ReadonlyArray<{ field: string; message: string }>): DraftIssues {
  const out = noIssues(d);
  const placed = new Set<{ field: string; message: string }>();
  const take = (prefix: string) => {
    const mine = issues.filter((i) => i.field === prefix || i.field.startsWith(`${prefix}.`) || i.field.startsWith(`${prefix}[`));
    mine.forEach((i) => placed.add(i));
    return issuesUnder(mine, prefix);
  };
  out.steps = d.steps.map((_, i) => take(`recipe.steps[${i}].params`));
  out.eval = take('recipe.eval');
  out.calibration = take('recipe.calibration');
  const nameIssues = take('name');
  if (nameIssues.length > 0) out.name = nameIssues.map((i) => i.message).join('; ');
  for (const i of issues) if (!placed.has(i)) out.other.push(`${i.field}: ${i.message}`);
  return out;
}
