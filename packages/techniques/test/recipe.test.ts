import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CanceledError,
  RecipeError,
  RecipeSchema,
  TechniqueRegistry,
  applyRecipe,
  defineTechnique,
  parseRecipe,
  quietContext,
  registry,
  rtnInt8,
} from '../src';
import { buildMlp } from './mlp-fixture';

describe('technique registry', () => {
  it('lists built-ins and names the known ids when an id is unknown', () => {
    expect(registry.list().map((t) => t.id)).toContain('quantize.rtn-int8');
    expect(registry.get('quantize.rtn-int8')).toBe(rtnInt8);
    expect(() => registry.get('quantize.gptq-int3')).toThrow(/unknown technique "quantize.gptq-int3"; known techniques: .*quantize\.rtn-int8/);
  });

  it('validates ids and families and refuses duplicates', () => {
    const base = { title: 't', description: 'd', params: z.object({}), apply: async (m: never) => ({ model: m, report: {} }) };
    expect(() => defineTechnique({ ...base, id: 'Quantize.X', family: 'quantize' })).toThrow(/lowercase/);
    expect(() => defineTechnique({ ...base, id: 'prune.magnitude', family: 'quantize' })).toThrow(/start with its family/);
    const reg = new TechniqueRegistry([rtnInt8]);
    expect(() => reg.register(rtnInt8)).toThrow(/already registered/);
  });
});

describe('Recipe schema', () => {
  it('applies each technique’s defaults', () => {
    expect(RecipeSchema.parse({ steps: [{ technique: 'quantize.rtn-int8' }] })).toEqual({
      steps: [{ technique: 'quantize.rtn-int8', params: { skip: [], minSize: 0 } }],
    });
  });

  it('names the step index and field of each bad parameter', () => {
    const bad = { steps: [{ technique: 'quantize.rtn-int8', params: {} }, { technique: 'quantize.rtn-int8', params: { minSize: -1, skip: 'lm_head' } }] };
    const res = RecipeSchema.safeParse(bad);
    expect(res.success).toBe(false);
    const paths = res.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['steps.1.params.minSize', 'steps.1.params.skip']);
    let err: unknown;
    try {
      parseRecipe(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecipeError);
    expect((err as RecipeError).problems.some((p) => p.startsWith('steps[1].params.minSize: '))).toBe(true);
    expect((err as RecipeError).problems.some((p) => p.startsWith('steps[1].params.skip: '))).toBe(true);
  });

  it('reports unknown techniques and empty recipes', () => {
    expect(() => parseRecipe({ steps: [{ technique: 'prune.nothing', params: {} }] })).toThrow(/steps\[0\]\.technique: unknown technique "prune.nothing"/);
    expect(() => parseRecipe({ steps: [] })).toThrow(/steps: a recipe needs at least one step/);
    expect(() => parseRecipe({})).toThrow(/steps: /);
  });
});

describe('applyRecipe', () => {
  it('runs steps in order, splits progress, and honours cancellation', async () => {
    const { model } = buildMlp(8, 16, 6);
    const recipe = parseRecipe({ steps: [{ technique: 'quantize.rtn-int8', params: { skip: ['lm_head'] } }, { technique: 'quantize.rtn-int8' }] });
    const seen: number[] = [];
    const out = await applyRecipe(model, recipe, quietContext({ onProgress: (f) => seen.push(f) }));
    expect(out.steps.map((s) => s.report.layersQuantized)).toEqual([1, 1]);
    expect(out.model.graph.initializers.filter((t) => t.dtype === 'int8')).toHaveLength(2);
    expect(seen.every((f, i) => i === 0 || f >= seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe(1);
    const ac = new AbortController();
    ac.abort();
    await expect(applyRecipe(model, recipe, quietContext({ signal: ac.signal }))).rejects.toBeInstanceOf(CanceledError);
  });
});

describe('recipe.eval.sensitivity', () => {
  const steps = [{ technique: 'quantize.rtn-int8', params: {} }];
  const refused = (sensitivity: unknown): string => {
    try {
      parseRecipe({ steps, eval: { sensitivity } });
    } catch (error) {
      expect(error).toBeInstanceOf(RecipeError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('accepts probes with the default sample size', () => {
    const recipe = parseRecipe({ steps, eval: { sensitivity: { bits: [2, 4], sparsity: [0.5] } } });
    expect(recipe.eval?.sensitivity).toEqual({ bits: [2, 4], sparsity: [0.5], sequences: 8, length: 128 });
  });

  it('refuses out-of-range values, naming the field', () => {
    expect(refused({ bits: [1] })).toMatch(/eval\.sensitivity\.bits\[0\]/);
    expect(refused({ bits: [9] })).toMatch(/eval\.sensitivity\.bits\[0\]/);
    expect(refused({ sparsity: [0.99] })).toMatch(/eval\.sensitivity\.sparsity\[0\]/);
    expect(refused({ bits: [2], sequences: 65 })).toMatch(/eval\.sensitivity\.sequences/);
    expect(refused({ bits: [2], length: 513 })).toMatch(/eval\.sensitivity\.length/);
    expect(refused({ bits: [2], layers: 3 })).toMatch(/eval\.sensitivity/);
    expect(refused({})).toMatch(/eval\.sensitivity\.bits: give at least one probe/);
  });
});
