/**
 * The run's seed as the source of every seed a recipe leaves open: step i's `seed`
 * parameter (training order and initialisation, k-means init, hashing) defaults to
 * runSeed + i, a nested `distill` block's seed likewise, and the calibration sample's
 * seed to runSeed. Seeds the recipe states itself are kept. Applied before validation, so
 * the stored recipe names every seed and a re-run with it draws the same numbers.
 * Evaluation is not seeded by the run: its sampler uses the suite's fixed seed, so every
 * run of a suite is scored on the same draws and base evaluations stay shareable.
 */
import type { TechniqueRegistry } from './registry';

/** Step seeds stay below every technique's bound (share.hashing allows up to 2^30). */
const SEED_SPACE = 2 ** 30;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function shapeKeys(schema: unknown): Set<string> {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return new Set(shape ? Object.keys(shape) : []);
}

export function stepSeed(runSeed: number, stepIndex: number): number {
  return (runSeed + stepIndex) % SEED_SPACE;
}

/** The recipe as given, with open seeds filled from `runSeed`; anything malformed is left for validation to name. */
export function seedRecipe(recipe: unknown, runSeed: number, reg: TechniqueRegistry): unknown {
  if (!isObject(recipe) || !Array.isArray(recipe.steps)) return recipe;
  const steps = recipe.steps.map((step: unknown, i: number) => {
    if (!isObject(step) || typeof step.technique !== 'string' || !reg.has(step.technique)) return step;
    const keys = shapeKeys(reg.get(step.technique).params);
    const params: Json = isObject(step.params) ? { ...step.params } : step.params === undefined ? {} : (step.params as Json);
    if (!isObject(params)) return step;
    if (keys.has('seed') && params.seed === undefined) params.seed = stepSeed(runSeed, i);
    if (keys.has('distill') && isObject(params.distill) && params.distill.seed === undefined) params.distill = { ...params.distill, seed: stepSeed(runSeed, i) };
    return { ...step, params };
  });
  const out: Json = { ...recipe, steps };
  if (isObject(recipe.calibration) && recipe.calibration.seed === undefined) out.calibration = { ...recipe.calibration, seed: runSeed };
  return out;
}
