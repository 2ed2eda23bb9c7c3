import { describe, expect, it } from 'vitest';
import { RecipeSchema, registry, seedRecipe, stepSeed } from '../src/index';

describe('seedRecipe', () => {
  it('fills every open seed from the run seed and keeps the stated ones', () => {
    const raw = {
      steps: [
        { technique: 'finetune.recover', params: { steps: 10 } },
        { technique: 'quantize.rtn-int8' },
        { technique: 'share.kmeans', params: { bits: 4, seed: 99 } },
        { technique: 'prune.ffn-channels', params: { keep: 16, distill: { steps: 5 } } },
        { technique: 'share.hashing', params: { ratio: 0.5 } },
      ],
      calibration: { sequences: 4 },
    };
    const seeded = RecipeSchema.parse(seedRecipe(raw, 41, registry));
    expect(seeded.steps[0]!.params.seed).toBe(41);
    expect(seeded.steps[1]!.params).not.toHaveProperty('seed');
    expect(seeded.steps[2]!.params.seed).toBe(99);
    expect((seeded.steps[3]!.params.distill as { seed: number }).seed).toBe(44);
    expect(seeded.steps[4]!.params.seed).toBe(45);
    expect(seeded.calibration?.seed).toBe(41);
    // The input is not modified, and the same run seed gives the same recipe.
    expect(raw.steps[0]!.params).toEqual({ steps: 10 });
    expect(seedRecipe(raw, 41, registry)).toEqual(seedRecipe(raw, 41, registry));
    expect(RecipeSchema.parse(seedRecipe(raw, 7, registry)).steps[0]!.params.seed).toBe(7);
  });

  it('stays within the bound of every seeded technique and leaves malformed input to validation', () => {
    expect(stepSeed(2 ** 31 - 1, 3)).toBeLessThan(2 ** 30);
    expect(RecipeSchema.safeParse(seedRecipe({ steps: [{ technique: 'share.hashing', params: {} }] }, 2 ** 31 - 1, registry)).success).toBe(true);
    expect(seedRecipe('nonsense', 1, registry)).toBe('nonsense');
    expect(seedRecipe({ steps: [{ technique: 'nope', params: {} }] }, 1, registry)).toEqual({ steps: [{ technique: 'nope', params: {} }] });
  });
});
