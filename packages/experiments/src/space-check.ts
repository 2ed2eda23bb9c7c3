/**
 * A sweep's space checked against its recipe before any run starts: each value (each end
 * of a range) set alone in the template must give a valid recipe, so a typo in a path or
 * an out-of-range value is reported at createSweep, naming both.
 */
import { parseRecipe, RecipeError } from '@distillery/techniques';
import { setPath, SweepSpaceError, type Json, type SweepSpace } from './sweep-space';

export function validateSpace(template: unknown, space: SweepSpace): string | null {
  for (const p of space) {
    const values: Json[] = 'values' in p ? (p.values as Json[]) : [p.min, p.max];
    for (const value of values) {
      try {
        parseRecipe(setPath(template as Json, p.path, value));
      } catch (e) {
        if (e instanceof RecipeError) return `${p.path} = ${JSON.stringify(value)}: ${e.problems.join('; ')}`;
        if (e instanceof SweepSpaceError) return e.message;
        throw e;
      }
    }
  }
  return null;
}
