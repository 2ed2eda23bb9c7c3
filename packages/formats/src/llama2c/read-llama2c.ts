/**
 * A llama2.c checkpoint into our decoder's config and weights, one stored array at a time:
 * the header is checked against the file size before anything else is read, matrices go
 * from [out, in] to our [in, out], and q/k rows from llama2.c's interleaved rotary pairs to
 * rotate_half order (see rotary-layout.ts).
 */
import type { DecoderConfig, DecoderWeights } from '@distillery/nn';
import { fileSource, type ByteSource } from '../byte-source';
import { FormatError } from '../format-error';
import { interleavedToHalves } from '../rotary-layout';
import { transpose2d } from '../safetensors/hf-linear-layout';
import { LLAMA2C_HEADER_BYTES, LLAMA2C_HEADER_FIELDS, llama2cBlocks, llama2cConfig } from './llama2c-layout';

export interface Llama2cImport {
  readonly config: DecoderConfig;
  readonly weights: DecoderWeights;
  readonly parameters: number;
}

type Header = Record<(typeof LLAMA2C_HEADER_FIELDS)[number], number>;

function checkHeader(header: Header, file: string): DecoderConfig {
  for (const field of LLAMA2C_HEADER_FIELDS) {
    const value = header[field];
    const ok = field === 'vocab_size' ? value !== 0 : value > 0;
    if (!ok) throw new FormatError(file, field, `${value} is not a valid size (not a llama2.c checkpoint?)`);
  }
  if (header.dim % header.n_heads !== 0) throw new FormatError(file, 'n_heads', `${header.n_heads} does not divide dim ${header.dim}`);
  if (header.n_heads % header.n_kv_heads !== 0) throw new FormatError(file, 'n_kv_heads', `${header.n_kv_heads} does not divide n_heads ${header.n_heads}`);
  if ((header.dim / header.n_heads) % 2 !== 0) throw new FormatError(file, 'n_heads', `head size ${header.dim / header.n_heads} is odd; RoPE needs it even`);
  try {
    return llama2cConfig(header);
  } catch (error) {
    throw new FormatError(file, '(header)', (error as Error).message);
  }
}

/** One of our weights in the checkpoint: where its float32 values start and how many there are. */
export interface Llama2cTensor {
  /** Our weight name. */
  readonly name: string;
  /** The llama2.c array, with the layer for per-layer ones (for messages and the layout change). */
  readonly block: string;
  readonly layer: number | null;
  readonly offset: number;
  readonly elements: number;
}

/** The checkpoint's config and where each weight is, from the header (checked against the file size); no weight is read. */
export interface Llama2cPlan {
  readonly config: DecoderConfig;
  readonly tensors: readonly Llama2cTensor[];
  readonly parameters: number;
}

export async function planLlama2c(source: ByteSource): Promise<Llama2cPlan> {
  const file = source.name;
  const size = source.size;
  if (size < LLAMA2C_HEADER_BYTES) throw new FormatError(file, 'header', `the file has ${size} bytes, fewer than the ${LLAMA2C_HEADER_BYTES}-byte header (truncated?)`);
  const head = await source.read(0, LLAMA2C_HEADER_BYTES);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const header = Object.fromEntries(LLAMA2C_HEADER_FIELDS.map((f, i) => [f, view.getInt32(i * 4, true)])) as Header;
  const config = checkHeader(header, file);
  const blocks = llama2cBlocks(config);
  // BigInt: int32 fields multiplied together can pass 2^53; such a header must be refused, not rounded.
  const expected = blocks.reduce((n, b) => n + BigInt(b.stored.reduce((m, d) => m * d, 1)) * BigInt(b.perLayer ? config.nLayers : 1) * 4n, BigInt(LLAMA2C_HEADER_BYTES));
  if (expected !== BigInt(size)) {
    const shape = LLAMA2C_HEADER_FIELDS.map((f) => `${f} ${header[f]}`).join(', ');
    throw new FormatError(file, 'header', `${shape} implies ${expected} bytes but the file has ${size}${expected > BigInt(size) ? ' (truncated?)' : ''}`);
  }
  const tensors: Llama2cTensor[] = [];
  let offset = LLAMA2C_HEADER_BYTES;
  let parameters = 0;
  for (const block of blocks) {
    const items = block.perLayer ? config.nLayers : 1;
    const elements = block.stored.reduce((n, d) => n * d, 1);
    for (let i = 0; i < items; i++) {
      if (block.weight !== null) {
        tensors.push({ name: block.weight.replace('{i}', String(i)), block: block.name, layer: block.perLayer ? i : null, offset, elements });
        parameters += elements;
      }
      offset += elements * 4;
    }
  }
  return { config, tensors, parameters };
}

/** One weight read from the checkpoint, checked finite and put in our layout. */
export async function readLlama2cTensor(source: ByteSource, config: DecoderConfig, t: Llama2cTensor): Promise<Float32Array> {
  const bytes = await source.read(t.offset, t.elements * 4);
  const field = t.layer === null ? t.block : `${t.block}[layer ${t.layer}]`;
  if (bytes.byteLength !== t.elements * 4) throw new FormatError(source.name, field, `ends after ${bytes.byteLength} of ${t.elements * 4} bytes (the file changed while it was read?)`);
  // A copy from the source, so aligned for a float view.
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, t.elements);
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k])) throw new FormatError(source.name, field, `holds ${values[k]} at element ${k}; weights must be finite`);
  }
  return toOurLayout(t.block, values, config);
}

/** Every weight in memory. `input` is a file path or bytes already read (with their file name for messages). */
export async function readLlama2c(input: string | ByteSource, onProgress?: (fraction: number) => void): Promise<Llama2cImport> {
  const source = typeof input === 'string' ? await fileSource(input) : input;
  try {
    const plan = await planLlama2c(source);
    const weights: DecoderWeights = new Map();
    for (const [i, t] of plan.tensors.entries()) {
      weights.set(t.name, await readLlama2cTensor(source, plan.config, t));
      onProgress?.((i + 1) / plan.tensors.length);
    }
    return { config: plan.config, weights, parameters: plan.parameters };
  } finally {
    await source.close();
  }
}

function toOurLayout(block: string, values: Float32Array, c: DecoderConfig): Float32Array {
  const D = c.hiddenSize;
  switch (block) {
    case 'wq':
      return transpose2d(interleavedToHalves(values, c.nHeads, c.headDim, D), c.nHeads * c.headDim, D);
    case 'wk':
      return transpose2d(interleavedToHalves(values, c.nKvHeads, c.headDim, D), c.nKvHeads * c.headDim, D);
    case 'wv':
      return transpose2d(values, c.nKvHeads * c.headDim, D);
    case 'wo':
      return transpose2d(values, D, c.nHeads * c.headDim);
    case 'w1':
    case 'w3':
      return transpose2d(values, c.ffnSize, D);
    case 'w2':
      return transpose2d(values, D, c.ffnSize);
    case 'wcls':
      return transpose2d(values, c.vocabSize, D);
    default:
      return values;
  }
}
