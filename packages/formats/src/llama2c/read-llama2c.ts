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
import { blockElements, LLAMA2C_HEADER_BYTES, LLAMA2C_HEADER_FIELDS, llama2cBlocks, llama2cConfig } from './llama2c-layout';

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

/** `input` is a file path or bytes already read (with their file name for messages). */
export async function readLlama2c(input: string | ByteSource, onProgress?: (fraction: number) => void): Promise<Llama2cImport> {
  const source = typeof input === 'string' ? await fileSource(input) : input;
  const file = source.name;
  try {
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
    const weights: DecoderWeights = new Map();
    let offset = LLAMA2C_HEADER_BYTES;
    let parameters = 0;
    const total = blocks.reduce((n, b) => n + blockElements(config, b), 0);
    for (const block of blocks) {
      const items = block.perLayer ? config.nLayers : 1;
      const itemElements = block.stored.reduce((n, d) => n * d, 1);
      for (let i = 0; i < items; i++) {
        if (block.weight !== null) {
          const name = block.weight.replace('{i}', String(i));
          const bytes = await source.read(offset, itemElements * 4);
          const values = new Float32Array(bytes.buffer, bytes.byteOffset, itemElements);
          for (let k = 0; k < values.length; k++) {
            if (!Number.isFinite(values[k])) throw new FormatError(file, block.perLayer ? `${block.name}[layer ${i}]` : block.name, `holds ${values[k]} at element ${k}; weights must be finite`);
          }
          weights.set(name, toOurLayout(block.name, values, config));
          parameters += itemElements;
        }
        offset += itemElements * 4;
        onProgress?.((offset - LLAMA2C_HEADER_BYTES) / 4 / total);
      }
    }
    return { config, weights, parameters };
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
