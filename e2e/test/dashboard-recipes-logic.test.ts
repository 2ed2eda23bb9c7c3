/** The recipe builder's pure logic (apps/web/client/recipes.ts, api-issues.ts), by hand-made drafts and API errors. */
import { registry } from '@distillery/techniques';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiFieldIssues } from '../../apps/web/client/api-issues';
import { GraphqlRequestError } from '../../apps/web/client/graphql';
import { cloneName, draftFromSaved, draftIssuesFromApi, issueCount, newStep, recipeFromDraft, validateDraft, type RecipeDraft } from '../../apps/web/client/recipes';

/** What the API's `techniques { paramsSchema }` answers. */
const schemaOf = (id: string) => (registry.has(id) ? z.toJSONSchema(registry.get(id).params, { io: 'input', unrepresentable: 'any' }) : undefined);

function draft(patch: Partial<RecipeDraft> = {}): RecipeDraft {
  return { name: 'r', description: '', steps: [newStep('prune.magnitude', { sparsity: 0.25 }), newStep('quantize.rtn-int8', {})], eval: null, calibration: null, ...patch };
}

describe('recipe drafts', () => {
  it('turns a draft into recipe JSON, leaving empty settings to the defaults', () => {
    expect(recipeFromDraft(draft())).toEqual({ steps: [{ technique: 'prune.magnitude', params: { sparsity: 0.25 } }, { technique: 'quantize.rtn-int8', params: {} }] });
    expect(recipeFromDraft(draft({ eval: {} }))).not.toHaveProperty('eval');
    expect(recipeFromDraft(draft({ eval: { maxTokens: 64 }, calibration: { sequences: 4 } }))).toMatchObject({ eval: { maxTokens: 64 }, calibration: { sequences: 4 } });
  });

  it('reads a saved version back into a draft with fresh step keys, and names clones apart', () => {
    const saved = { name: 'a', description: null, recipe: { steps: [{ technique: 'quantize.rtn', params: { bits: 4 } }, { technique: 'x' }], eval: { maxTokens: 8 } } };
    const d = draftFromSaved(saved, 'a-copy');
    expect(d).toMatchObject({ name: 'a-copy', description: '', eval: { maxTokens: 8 }, calibration: null });
    expect(d.steps.map((s) => [s.technique, s.params])).toEqual([
      ['quantize.rtn', { bits: 4 }],
      ['x', {}],
    ]);
    expect(new Set(d.steps.map((s) => s.key)).size).toBe(2);
    expect(recipeFromDraft(d)).toEqual({ steps: [{ technique: 'quantize.rtn', params: { bits: 4 } }, { technique: 'x', params: {} }], eval: { maxTokens: 8 } });
    expect(draftFromSaved({ name: 'b', description: 'd', recipe: 'not a recipe' }, 'b').steps).toEqual([]);
    expect(cloneName('a', ['a'])).toBe('a-copy');
    expect(cloneName('a', ['a', 'a-copy', 'a-copy-2'])).toBe('a-copy-3');
  });

  it("checks every step against its technique's schema and names what has no field", () => {
    const ok = validateDraft(draft(), schemaOf, null);
    expect(issueCount(ok)).toBe(0);
    const bad = validateDraft(draft({ name: ' ', steps: [newStep('prune.magnitude', { sparsity: 1.5 }), newStep('nope', {})] }), schemaOf, null);
    expect(bad.name).toBe('give the recipe a name');
    expect(bad.steps[0]!.map((i) => i.path)).toEqual(['sparsity']);
    expect(bad.other).toEqual(['step 2: unknown technique "nope"']);
    expect(validateDraft(draft({ steps: [] }), schemaOf, null).other).toEqual(['a recipe needs at least one step']);
  });

  it("places the API's field problems beside the step, the settings or the name they concern", () => {
    const err = new GraphqlRequestError(
      [
        {
          message: 'bad',
          extensions: {
            code: 'BAD_USER_INPUT',
            field: 'recipe.steps[1].params.bits',
            issues: [
              { field: 'recipe.steps[1].params.bits', message: 'too many' },
              { field: 'recipe.eval.sensitivity.bits', message: 'give at least one probe: bits or sparsity' },
              { field: 'recipe.steps[0].technique', message: 'unknown technique' },
            ],
          } as never,
        },
        { message: 'name: too long', extensions: { code: 'BAD_USER_INPUT', field: 'name' } },
      ],
      200,
    );
    const placed = draftIssuesFromApi(draft(), apiFieldIssues(err));
    expect(placed.steps).toEqual([[], [{ path: 'bits', message: 'too many' }]]);
    expect(placed.eval).toEqual([{ path: 'sensitivity.bits', message: 'give at least one probe: bits or sparsity' }]);
    expect(placed.name).toBe('name: too long');
    expect(placed.other).toEqual(['recipe.steps[0].technique: unknown technique']);
    expect(apiFieldIssues(new Error('network'))).toEqual([]);
  });
});
