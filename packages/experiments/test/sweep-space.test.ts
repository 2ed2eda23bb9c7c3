import { describe, expect, it } from 'vitest';
import { applyAssignment, assignmentOf, getPath, gridIndices, gridSize, indicesOf, randomAssignment, setPath, SweepSpaceError, SweepSpaceSchema, type Json } from '../src/sweep-space';

const template: Json = { steps: [{ technique: 'quantize.rtn', params: { bits: 4 } }, { technique: 'prune.magnitude', params: {} }] };
const space = SweepSpaceSchema.parse([
  { path: 'steps[0].params.bits', values: [2, 3, 4] },
  { path: 'steps[1].params.sparsity', values: [0.1, 0.5] },
]);

describe('sweep space', () => {
  it('enumerates the grid in order, every combination once (against nested loops)', () => {
    expect(gridSize(space)).toBe(6);
    const got = Array.from({ length: 6 }, (_, n) => gridIndices(space, n));
    const want: number[][] = [];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) want.push([a, b]);
    expect(got).toEqual(want);
  });

  it('applies an assignment to a copy of the recipe and reads it back', () => {
    const recipe = applyAssignment(template, assignmentOf(space, [2, 1]));
    expect(getPath(recipe, 'steps[0].params.bits')).toBe(4);
    expect(getPath(recipe, 'steps[1].params.sparsity')).toBe(0.5);
    expect(getPath(template, 'steps[1].params')).toEqual({});
    expect(indicesOf(space, recipe)).toEqual([2, 1]);
    expect(indicesOf(space, template)).toBeNull();
  });

  it('refuses paths the recipe cannot hold', () => {
    expect(() => setPath(template, 'steps[5].params.bits', 1)).toThrow(SweepSpaceError);
    expect(() => setPath(template, 'steps[0].technique.x', 1)).toThrow(/not inside an object/);
    expect(SweepSpaceSchema.safeParse([{ path: 'steps[0].', values: [1] }]).success).toBe(false);
    expect(SweepSpaceSchema.safeParse([{ path: 'a', values: [1] }, { path: 'a', values: [2] }]).success).toBe(false);
    expect(() => gridSize(SweepSpaceSchema.parse([{ path: 'a', min: 0, max: 1 }]))).toThrow(/range/);
  });

  it('draws random configurations reproducibly within ranges', () => {
    const s = SweepSpaceSchema.parse([{ path: 'lr', min: 1e-5, max: 1e-2, log: true }, { path: 'rank', min: 4, max: 64, integer: true }]);
    const a = Array.from({ length: 200 }, (_, n) => randomAssignment(s, 7, n));
    expect(Array.from({ length: 200 }, (_, n) => randomAssignment(s, 7, n))).toEqual(a);
    for (const [lr, rank] of a) {
      expect(lr!.value as number).toBeGreaterThanOrEqual(1e-5);
      expect(lr!.value as number).toBeLessThanOrEqual(1e-2);
      expect(Number.isInteger(rank!.value)).toBe(true);
      expect(rank!.value as number).toBeGreaterThanOrEqual(4);
      expect(rank!.value as number).toBeLessThanOrEqual(64);
    }
    // Log scale: about as many draws below the geometric middle as above it.
    const below = a.filter(([lr]) => (lr!.value as number) < Math.sqrt(1e-5 * 1e-2)).length;
    expect(below).toBeGreaterThan(70);
    expect(below).toBeLessThan(130);
  });
});
