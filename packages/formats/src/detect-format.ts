/**
 * Which model format a file is, from its first bytes (never its name):
 * - GGUF: the magic "GGUF";
 * - safetensors: a little-endian uint64 header length that fits in the file, then "{";
 * - ONNX: a protobuf ModelProto, which starts with field 1 (ir_version, a small varint)
 *   followed by another ModelProto field tag;
 * - llama2.c: the "ak42" magic of its versioned export, or the legacy header of seven
 *   int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
 *   vocab_size means an untied classifier) that fit together.
 */
import { open } from 'node:fs/promises';

export type ModelFormat = 'gguf' | 'safetensors' | 'onnx' | 'llama2c';

export interface DetectedFormat {
  format: ModelFormat | 'unknown';
  /** Why: what in the bytes decided it. */
  reason: string;
}

/** Bytes detectFormat looks at. */
export const DETECT_BYTES = 64;

// ModelProto field tags (field number << 3 | wire type) that may follow ir_version.
const MODEL_PROTO_TAGS = new Set([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x4a, 0x52, 0x72, 0x7a]);

function looksLikeLlama2c(h: Int32Array): boolean {
  const [dim, hidden, layers, heads, kvHeads, vocab, seq] = Array.from(h) as [number, number, number, number, number, number, number];
  const small = (v: number, max: number) => v > 0 && v <= max;
  return (
    small(dim, 1 << 16) && small(hidden, 1 << 18) && small(layers, 1024) && small(heads, 1024) && small(kvHeads, heads) &&
    dim % heads === 0 && heads % kvHeads === 0 && vocab !== 0 && Math.abs(vocab) <= 1 << 22 && small(seq, 1 << 22)
  );
}

/** The format of a file whose first bytes are `head` and whose size is `size`. */
export function detectFormat(head: Uint8Array, size: number): DetectedFormat {
  const ascii = (from: number, to: number) => Buffer.from(head.subarray(from, to)).toString('latin1');
  if (head.length >= 4 && ascii(0, 4) === 'GGUF') return { format: 'gguf', reason: 'magic "GGUF"' };
  if (head.length >= 4 && ascii(0, 4) === 'ak42') return { format: 'llama2c', reason: 'magic "ak42" (llama2.c versioned export)' };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length >= 9) {
    const n = view.getBigUint64(0, true);
    if (n >= 2n && n + 8n <= BigInt(size) && head[8] === 0x7b) return { format: 'safetensors', reason: `${n}-byte JSON header after a uint64 length` };
  }
  if (head.length >= 3 && head[0] === 0x08) {
    // ir_version varint, then the next field's tag.
    let i = 1;
    let value = 0;
    for (let shift = 0; i < Math.min(head.length, 6); i++, shift += 7) {
      value += (head[i]! & 0x7f) * 2 ** shift;
      if (!(head[i]! & 0x80)) break;
    }
    const next = head[i + 1];
    if (value >= 1 && value <= 64 && next !== undefined && MODEL_PROTO_TAGS.has(next)) return { format: 'onnx', reason: `protobuf ModelProto (ir_version ${value})` };
  }
  if (head.length >= 28 && looksLikeLlama2c(new Int32Array(head.buffer.slice(head.byteOffset, head.byteOffset + 28)))) {
    return { format: 'llama2c', reason: 'seven int32 llama2.c header fields that fit together' };
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
