import { describe, expect, it } from 'vitest';
import { compareRuns, toleranceFor, withinTolerance } from '../src/reproduction';

describe('reproduction tolerances', () => {
  it('follow the catalogue: sizes and settings exact, arithmetic relative, timings not judged', () => {
    expect(toleranceFor('size.bytes', true)).toEqual({ kind: 'exact' });
    expect(toleranceFor('perplexity', true)).toEqual({ kind: 'relative', value: 1e-6 });
    expect(toleranceFor('perplexity', false)).toEqual({ kind: 'relative', value: 1e-3 });
    expect(toleranceFor('eval.tokensPerSecond', true).kind).toBe('not-compared');
    expect(toleranceFor('steps.0.size.bytes', true)).toEqual({ kind: 'exact' });
    expect(toleranceFor('steps.0.train.loss', true)).toEqual({ kind: 'relative', value: 1e-6 });
  });

  it('judges relative differences against the larger magnitude', () => {
    const t = { kind: 'relative', value: 1e-6 } as const;
    expect(withinTolerance(100, 100.00009, t)).toBe(true);
    expect(withinTolerance(100, 100.0002, t)).toBe(false);
    expect(withinTolerance(0, 0, t)).toBe(true);
    expect(withinTolerance(1, 1 + 1e-12, { kind: 'exact' })).toBe(false);
  });
});

describe('compareRuns', () => {
  // Reference: a plain loop over the union of (name, step), written independently.
  function reference(a: { name: string; step: number | null; value: number }[], b: typeof a): number {
    let outside = 0;
    const all = new Set([...a, ...b].map((p) => JSON.stringify([p.name, p.step])));
    for (const k of all) {
      const [name, step] = JSON.parse(k) as [string, number | null];
      const x = a.find((p) => p.name === name && p.step === step);
      const y = b.find((p) => p.name === name && p.step === step);
      const t = toleranceFor(name, true);
      if (t.kind === 'not-compared') continue;
      if (!x || !y) outside++;
      else if (t.kind === 'exact' ? x.value !== y.value : Math.abs(x.value - y.value) > t.value * Math.max(Math.abs(x.value), Math.abs(y.value))) outside++;
    }
    return outside;
  }

  it('matches the reference on random runs with perturbations, missing points and timings', () => {
    type Point = { name: string; step: number | null; value: number };
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const names = ['size.bytes', 'perplexity', 'eval.tokensPerSecond', 'steps.0.train.loss', 'divergence.kl'];
      const a: Point[] = names.flatMap((name): Point[] => (name === 'steps.0.train.loss' ? [1, 2, 3].map((step) => ({ name, step, value: 3 + rnd() })) : [{ name, step: null, value: 1 + rnd() * 100 }]));
      const b: Point[] = a
        .filter(() => rnd() > 0.05)
        .map((p) => ({ ...p, value: rnd() < 0.2 ? p.value * (1 + (rnd() - 0.5) * 1e-4) : rnd() < 0.2 ? p.value * (1 + 1e-8) : p.value }));
      const report = compareRuns(a, b, true);
      expect(report.outside).toBe(reference(a, b));
      expect(report.verdict).toBe(report.outside === 0 ? 'reproduced' : 'differs');
    }
  });

  it('reports each point with both values and its tolerance', () => {
    const r = compareRuns([{ name: 'size.bytes', step: null, value: 10 }], [{ name: 'size.bytes', step: null, value: 11 }], true);
    expect(r).toEqual({ verdict: 'differs', compared: 1, outside: 1, metrics: [{ name: 'size.bytes', step: null, original: 10, rerun: 11, tolerance: { kind: 'exact' }, withinTolerance: false }] });
  });
});
