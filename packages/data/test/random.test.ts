import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/random';

describe('mulberry32', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const draw = (seed: number) => Array.from({ length: 100 }, mulberry32(seed).nextUint32);
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('gives floats in [0, 1) and unbiased-looking integers below the bound', () => {
    const random = mulberry32(42);
    const histogram = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) {
      const x = random.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
      histogram[random.nextInt(6)]++;
    }
    for (const count of histogram) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('rejects invalid seeds and bounds', () => {
    expect(() => mulberry32(1.5)).toThrow(/seed/);
    expect(() => mulberry32(1).nextInt(0)).toThrow(/bound/);
  });
});
