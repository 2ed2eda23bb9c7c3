// runGraph: typed arrays in and out of onnxruntime, cached sessions; gram() = X^T X
// (the Hessian proxy H = 2 X X^T of GPTQ, Frantar et al. 2022 §2, with rows as samples).
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, gram, releaseGraph, runGraph, serializeModel, sessionFor } from '../src/index';

function addModel() {
  const b = new GraphBuilder('add');
  const x = b.input('x', 'float32', ['n']);
  const y = b.input('y', 'int64', ['n']);
  b.output(b.op('Add', [x, b.op('Cast', [y], { to: { type: 'int', value: 1 } })], {}, { output: 'sum' }), 'float32', ['n']);
  b.output(b.op('Neg', [y], {}, { output: 'neg' }), 'int64', ['n']);
  return b.toModel();
}

/** X^T X by definition, in float64. */
function gramReference(x: Float32Array, n: number, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[r * d + i]! * x[r * d + j]!;
      g[i * d + j] = s;
    }
  return g;
}

describe('runGraph', () => {
  it('runs a Model with typed-array feeds and returns typed arrays with dims', async () => {
    const m = addModel();
    const out = await runGraph(m, {
      x: { dtype: 'float32', dims: [3], data: Float32Array.from([0.5, 1, 2]) },
      y: { dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, 2n, 3n]) },
    });
    expect(out.sum).toEqual({ dtype: 'float32', dims: [3], data: Float32Array.from([1.5, 3, 5]) });
    expect(out.neg!.dtype).toBe('int64');
    expect([...(out.neg!.data as BigInt64Array)]).toEqual([-1n, -2n, -3n]);
    await releaseGraph(m);
  });

  it('accepts bytes and ort.Tensor feeds, and fetches only the outputs asked for', async () => {
    const bytes = serializeModel(addModel()).model;
    const out = await runGraph(
      bytes,
      { x: new ort.Tensor('float32', Float32Array.from([1]), [1]), y: new ort.Tensor('int64', BigInt64Array.from([4n]), [1]) },
      { outputs: ['neg'] },
    );
    expect(Object.keys(out)).toEqual(['neg']);
    expect(out.neg!.data[0]).toBe(-4n);
    await releaseGraph(bytes);
  });

  it('caches one session per model and options, and releases them', async () => {
    const m = addModel();
    const s1 = await sessionFor(m);
    expect(await sessionFor(m)).toBe(s1);
    expect(await sessionFor(addModel())).not.toBe(s1); // a different object gets its own session
    const s2 = await sessionFor(m, { graphOptimizationLevel: 'basic' });
    expect(s2).not.toBe(s1);
    await releaseGraph(m);
    expect(await sessionFor(m)).not.toBe(s1);
    await releaseGraph(m);
  });

  it('does not cache a failed session creation', async () => {
    const bad = new Uint8Array([1, 2, 3]);
    const first = sessionFor(bad);
    await expect(first).rejects.toThrow();
    const second = sessionFor(bad);
    expect(second).not.toBe(first);
    await expect(second).rejects.toThrow();
    await expect(runGraph(bad, {})).rejects.toThrow();
  });

  it('refuses feeds of a dtype onnxruntime-node cannot represent', async () => {
    await expect(
      runGraph(addModel(), { x: { dtype: 'bfloat16', dims: [1], data: new Uint16Array(1) } }),
    ).rejects.toThrow(/input "x": onnxruntime-node has no bfloat16 tensors/);
  });
});

describe('gram', () => {
  it('computes X^T X like the triple loop, for several shapes with one graph', async () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1;
    for (const [n, d] of [[1, 1], [7, 3], [50, 17], [3, 40]] as const) {
      const x = Float32Array.from({ length: n * d }, rnd);
      const got = await gram(x, n, d);
      const want = gramReference(x, n, d);
      expect(got.length).toBe(d * d);
      for (let i = 0; i < d * d; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[i]!)) * Math.sqrt(n));
    }
    const small = await gram(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, 2);
    expect([...small]).toEqual([35, 44, 44, 56]);
    await expect(gram(new Float32Array(5), 2, 3)).rejects.toThrow(/5 values given for a \[2, 3\] matrix/);
  });
});
