/**
 * Which model format a file is, from its first bytes and its size (never its name), and why:
 * - GGUF: the magic "GGUF";
 * - safetensors: a little-endian uint64 header length that fits in the file, then "{";
 * - a safetensors shard index: a JSON object with a "weight_map";
 * - llama2.c (legacy export): seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *   vocab_size, seq_len; a negative vocab_size means an untied classifier) whose weights
 *   make up exactly the rest of the file;
 * - ONNX: a protobuf ModelProto, which starts with field 1 (ir_version, a small varint)
 *   followed by another ModelProto field tag.
 */
import { open } from 'node:fs/promises';
import { LLAMA2C_HEADER_BYTES, llama2cBlocks, llama2cConfig } from './llama2c/llama2c-layout';

export type ModelFormat = 'gguf' | 'safetensors' | 'safetensors-index' | 'onnx' | 'llama2c';

/** A detected format, or 'unknown' when the bytes match none. */
export type FileFormat = ModelFormat | 'unknown';

export interface DetectedFormat {
  format: FileFormat;
  /** Why: what in the bytes decided it. */
  reason: string;
}

/** Bytes of the file's start that {@link detectFormat} needs (a shard index's "weight_map" may come late). */
export const DETECT_BYTES = 4096;

// ModelProto field tags (field number << 3 | wire type) that may follow ir_version.
const MODEL_PROTO_TAGS = new Set([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x4a, 0x52, 0x72, 0x7a]);

/** The file size a legacy llama2.c header implies, or null when its fields do not fit together. */
function llama2cSize(head: Uint8Array): bigint | null {
  if (head.byteLength < LLAMA2C_HEADER_BYTES) return null;
  const v = new DataView(head.buffer, head.byteOffset, LLAMA2C_HEADER_BYTES);
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) => v.getInt32(i * 4, true)) as [number, number, number, number, number, number, number];
  if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab === 0 || seqLen <= 0) return null;
  if (dim % heads !== 0 || heads % kvHeads !== 0) return null;
  try {
    const c = llama2cConfig({ dim, hidden_dim: hidden, n_layers: layers, n_heads: heads, n_kv_heads: kvHeads, vocab_size: vocab, seq_len: seqLen });
    return llama2cBlocks(c).reduce((n, b) => n + BigInt(b.stored.reduce((m, d) => m * d, 1)) * BigInt(b.perLayer ? c.nLayers : 1) * 4n, BigInt(LLAMA2C_HEADER_BYTES));
  } catch {
    return null;
  }
}

/** ir_version when `head` starts like a ModelProto, else null. */
function onnxIrVersion(head: Uint8Array): number | null {
  if (head.length < 3 || head[0] !== 0x08) return null;
  let i = 1;
  let value = 0;
  for (let shift = 0; i < Math.min(head.length, 6); i++, shift += 7) {
    value += (head[i]! & 0x7f) * 2 ** shift;
    if (!(head[i]! & 0x80)) break;
  }
  const next = head[i + 1];
  return value >= 1 && value <= 64 && next !== undefined && MODEL_PROTO_TAGS.has(next) ? value : null;
}

/** The format of a file whose first bytes are `head` (up to {@link DETECT_BYTES}) and whose size is `size`. */
export function detectFormat(head: Uint8Array, size: number): DetectedFormat {
  const ascii = (from: number, to: number) => Buffer.from(head.subarray(from, to)).toString('latin1');
  if (head.length >= 4 && ascii(0, 4) === 'GGUF') return { format: 'gguf', reason: 'magic "GGUF"' };
  if (head.length >= 4 && ascii(0, 4) === 'ak42') {
    return { format: 'unknown', reason: 'magic "ak42": a llama2.c versioned export, which is not read (export the legacy format, export.py --version 0)' };
  }
  if (head.length >= 9 && size >= 10) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    // The header is a JSON object, so its first byte is '{'.
    if (n >= 2n && n + 8n <= BigInt(size) && head[8] === 0x7b) return { format: 'safetensors', reason: `${n}-byte JSON header after a uint64 length` };
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  if (text.trimStart().startsWith('{') && /"weight_map"\s*:/.test(text)) return { format: 'safetensors-index', reason: 'JSON with a "weight_map"' };
  const implied = llama2cSize(head);
  if (implied !== null && implied === BigInt(size)) return { format: 'llama2c', reason: 'seven int32 llama2.c header fields whose weights fill the file' };
  const ir = onnxIrVersion(head);
  if (ir !== null) return { format: 'onnx', reason: `protobuf ModelProto (ir_version ${ir})` };
  if (implied !== null) {
    return { format: 'unknown', reason: `a llama2.c header implies ${implied} bytes but the file has ${size} (truncated or not llama2.c)` };
  }
  return { format: 'unknown', reason: `first bytes ${Buffer.from(head.subarray(0, 8)).toString('hex')} match no known model format (GGUF, safetensors, ONNX, llama2.c)` };
}

export async function detectFileFormat(file: string): Promise<DetectedFormat> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = new Uint8Array(Math.min(DETECT_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    return detectFormat(head, size);
  } finally {
    await handle.close();
  }
}
