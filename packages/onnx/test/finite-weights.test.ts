import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstNonFiniteWeight, GraphBuilder, makeTensor, nonFiniteChunkBuffer, nonFiniteIn, nonFiniteInFile, tensorToFloat32, type DType, type Tensor } from '../src/index';

/** Slow reference: decode every element to a number and test it. */
function referenceFirstBad(t: Tensor): { index: number; value: string } | null {
  const values = tensorToFloat32(t);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) return { index: i, value: Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity' };
  }
  return null;
}

function randomBits(n: number, seed: number): Uint16Array {
  let s = seed;
  return Uint16Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s & 0xffff;
  });
}

describe('non-finite weights', () => {
  it('agrees with decoding every element, for float16 and bfloat16 bit patterns of every kind', () => {
    for (const dtype of ['float16', 'bfloat16'] as DType[]) {
      for (let seed = 1; seed <= 40; seed++) {
        const t = makeTensor('w', dtype, [64], randomBits(64, seed));
        expect(nonFiniteIn(t), `${dtype} seed ${seed}`).toEqual(referenceFirstBad(t));
      }
      // Exhaustively: each of the 65,536 patterns alone.
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      for (let i = 0; i < all.length; i += 1) {
        const t = makeTensor('w', dtype, [1], all.subarray(i, i + 1));
        const fast = nonFiniteIn(t);
        const slow = referenceFirstBad(t);
        if ((fast === null) !== (slow === null) || fast?.value !== slow?.value) throw new Error(`${dtype} bits ${i.toString(16)}: ${JSON.stringify(fast)} vs ${JSON.stringify(slow)}`);
      }
    }
  });

  it('finds NaN, Inf and -Inf in float32 and float64, and ignores integer tensors', () => {
    expect(nonFiniteIn(makeTensor('a', 'float32', [3], Float32Array.from([1, Number.NaN, 2])))).toEqual({ index: 1, value: 'NaN' });
    expect(nonFiniteIn(makeTensor('a', 'float64', [2], Float64Array.from([1, -Infinity])))).toEqual({ index: 1, value: '-Infinity' });
    expect(nonFiniteIn(makeTensor('a', 'float32', [2], Float32Array.from([1e38, 3e38])))).toBeNull();
    expect(nonFiniteIn(makeTensor('a', 'int8', [2], Int8Array.from([127, -128])))).toBeNull();
  });

  it('names the first bad tensor of a model, initializers and Constant values alike', () => {
    const b = new GraphBuilder('m');
    const x = b.input('x', 'float32', [1, 2]);
    const w = b.initializer('good.weight', 'float32', [2, 2], Float32Array.from([1, 2, 3, 4]));
    const y = b.op('MatMul', [x, w]);
    b.output(y, 'float32', [1, 2]);
    const model = b.toModel();
    expect(firstNonFiniteWeight(model)).toBeNull();
    model.graph.initializers.push(makeTensor('bad.weight', 'float32', [2], Float32Array.from([0, Infinity])));
    expect(firstNonFiniteWeight(model)).toEqual({ tensor: 'bad.weight', index: 1, value: 'Infinity' });
    model.graph.initializers.pop();
    model.graph.nodes.push({ name: 'c', opType: 'Constant', domain: '', inputs: [], outputs: ['c'], attributes: { value: { type: 'tensor', value: makeTensor('const.value', 'float32', [1], Float32Array.from([Number.NaN])) } } });
    expect(firstNonFiniteWeight(model)).toEqual({ tensor: 'const.value', index: 0, value: 'NaN' });
  });

  it('finds the same first bad element in a weight read from a file a chunk at a time, past the first chunk', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-finite-file-'));
    try {
      // 4M elements a chunk: the bad ones sit in the second chunk, after a 13-byte prefix that is not the weight's.
      const n = (1 << 22) + 64;
      for (const [dtype, bits, bad] of [['float32', 32, Number.NaN], ['bfloat16', 16, -Infinity], ['float16', 16, Infinity]] as const) {
        const values = new Float32Array(n).fill(0.5);
        values[(1 << 22) + 5] = bad;
        values[(1 << 22) + 9] = Number.NaN;
        const t = bits === 32 ? makeTensor('w', dtype, [n], values) : makeTensor('w', dtype, [n], Uint16Array.from(values, (v) => (v === Infinity ? (dtype === 'float16' ? 0x7c00 : 0x7f80) : v === -Infinity ? (dtype === 'float16' ? 0xfc00 : 0xff80) : Number.isNaN(v) ? 0x7fc0 /* NaN in both 16-bit formats */ : dtype === 'float16' ? 0x3800 : 0x3f00)));
        const file = path.join(dir, `${dtype}.bin`);
        await writeFile(file, Buffer.concat([Buffer.alloc(13, 7), Buffer.from(t.raw), Buffer.alloc(5, 0xff)]));
        const found = await nonFiniteInFile({ file, offset: 13, length: t.raw.byteLength }, dtype);
        expect(found).toEqual(referenceFirstBad(t));
        expect(found?.index).toBe((1 << 22) + 5);
        expect(await nonFiniteInFile({ file, offset: 13, length: t.raw.byteLength }, dtype, nonFiniteChunkBuffer())).toEqual(found);
        // Integer weights are not read: the same bytes as int32 hold nothing to refuse.
        expect(await nonFiniteInFile({ file, offset: 13, length: t.raw.byteLength }, 'int32')).toBeNull();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
