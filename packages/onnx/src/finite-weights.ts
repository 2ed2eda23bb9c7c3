/**
 * Finds the first weight holding NaN or ±Inf, so an import can refuse it naming the
 * tensor. Floats are tested on their bit patterns (IEEE 754-2019 §3.4: an all-ones
 * exponent field encodes Inf or NaN), which needs no conversion of 16-bit formats.
 */
import { open } from 'node:fs/promises';
import { byteLength, elementCount, type DType } from './dtype';
import type { Graph, Model, Tensor } from './model';
import { tensorData } from './tensor';

export interface NonFiniteWeight {
  tensor: string;
  /** Flat index of the first bad element. */
  index: number;
  /** 'NaN', 'Infinity' or '-Infinity'. */
  value: string;
}

// Exponent masks of IEEE half precision and bfloat16; sign bit 0x8000 in both.
const F16_EXP = 0x7c00;
const F16_MANTISSA = 0x03ff;
const BF16_EXP = 0x7f80;
const BF16_MANTISSA = 0x007f;

function describe(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

function halfBits(bits: Uint16Array, exp: number, mantissa: number): { index: number; value: string } | null {
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    if ((b & exp) === exp) return { index: i, value: (b & mantissa) !== 0 ? 'NaN' : b & 0x8000 ? '-Infinity' : 'Infinity' };
  }
  return null;
}

/** The first non-finite element of a float tensor, or null (integer tensors are always finite). */
export function nonFiniteIn(t: Tensor): { index: number; value: string } | null {
  if (elementCount(t.dims) === 0) return null;
  switch (t.dtype) {
    case 'float32':
    case 'float64': {
      const a = tensorData(t) as Float32Array | Float64Array;
      for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return { index: i, value: describe(a[i]!) };
      return null;
    }
    case 'float16':
      return halfBits(tensorData(t) as Uint16Array, F16_EXP, F16_MANTISSA);
    case 'bfloat16':
      return halfBits(tensorData(t) as Uint16Array, BF16_EXP, BF16_MANTISSA);
    default:
      return null;
  }
}

function* weightsOf(g: Graph): Iterable<Tensor> {
  yield* g.initializers;
  for (const node of g.nodes) {
    for (const a of Object.values(node.attributes)) {
      if (a.type === 'tensor') yield a.value;
      else if (a.type === 'graph') yield* weightsOf(a.value);
    }
  }
}

/** Initializers and constant tensors (including those of subgraphs), in graph order. */
export function firstNonFiniteWeight(model: Model): NonFiniteWeight | null {
  for (const t of weightsOf(model.graph)) {
    const bad = nonFiniteIn(t);
    if (bad) return { tensor: t.name, ...bad };
  }
  return null;
}

/** Elements read at a time when a weight is checked from its file. */
const RANGE_CHUNK_ELEMENTS = 1 << 22;

/** A buffer for nonFiniteInFile to read chunks into, shared by the weights of one check. */
export function nonFiniteChunkBuffer(): Uint8Array {
  return new Uint8Array(RANGE_CHUNK_ELEMENTS * 8);
}

/**
 * nonFiniteIn for a weight still in a file (`length` bytes at `offset`), read a chunk at a
 * time so the check holds a few MB, not the tensor; integer dtypes are not read at all.
 * `scratch` (nonFiniteChunkBuffer) lets a caller checking many weights reuse one buffer.
 */
export async function nonFiniteInFile(range: { file: string; offset: number; length: number }, dtype: DType, scratch?: Uint8Array): Promise<{ index: number; value: string } | null> {
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16' && dtype !== 'bfloat16') return null;
  const elementBytes = byteLength(dtype, [1]);
  const handle = await open(range.file, 'r');
  try {
    const chunkBytes = RANGE_CHUNK_ELEMENTS * elementBytes;
    const buffer = scratch !== undefined && scratch.byteLength >= chunkBytes ? scratch.subarray(0, chunkBytes) : new Uint8Array(Math.min(range.length, chunkBytes));
    for (let done = 0; done < range.length; ) {
      const want = Math.min(buffer.byteLength, range.length - done);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(buffer, got, want - got, range.offset + done + got);
        if (bytesRead === 0) throw new Error(`${range.file} ended at byte ${range.offset + done + got}, inside a weight's range ${range.offset}+${range.length}`);
        got += bytesRead;
      }
      const bad = nonFiniteIn({ name: '', dtype, dims: [want / elementBytes], raw: buffer.subarray(0, want) });
      if (bad) return { index: done / elementBytes + bad.index, value: bad.value };
      done += want;
    }
    return null;
  } finally {
    await handle.close();
  }
}
