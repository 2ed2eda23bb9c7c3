/**
 * Which importer a file needs, from its first bytes and its size, never its name. A minimal
 * detector for the formats converted here (safetensors, its shard index, llama2.c, ONNX),
 * which also recognises GGUF's magic so a GGUF file is not mistaken for something else.
 */
import { LLAMA2C_HEADER_BYTES, llama2cBlocks, llama2cConfig } from './llama2c/llama2c-layout';

export type SniffedFormat = 'onnx' | 'safetensors' | 'safetensors-index' | 'llama2c' | 'gguf' | 'unknown';

/** Bytes of the file's start that {@link sniffFormat} looks at. */
export const SNIFF_BYTES = 4096;

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];

function llama2cSize(head: Uint8Array): bigint | null {
  if (head.byteLength < LLAMA2C_HEADER_BYTES) return null;
  const v = new DataView(head.buffer, head.byteOffset, LLAMA2C_HEADER_BYTES);
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) => v.getInt32(i * 4, true));
  if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab === 0 || seqLen <= 0) return null;
  if (dim % heads !== 0 || heads % kvHeads !== 0) return null;
  try {
    const c = llama2cConfig({ dim, hidden_dim: hidden, n_layers: layers, n_heads: heads, n_kv_heads: kvHeads, vocab_size: vocab, seq_len: seqLen });
    return llama2cBlocks(c).reduce((n, b) => n + BigInt(b.stored.reduce((m, d) => m * d, 1)) * BigInt(b.perLayer ? c.nLayers : 1) * 4n, BigInt(LLAMA2C_HEADER_BYTES));
  } catch {
    return null;
  }
}

export function sniffFormat(head: Uint8Array, size: number): SniffedFormat {
  if (head.byteLength >= 4 && GGUF_MAGIC.every((b, i) => head[i] === b)) return 'gguf';
  if (head.byteLength >= 9 && size >= 10) {
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    // The format's header is a JSON object, so its first byte is '{'.
    if (n >= 2n && n <= BigInt(size - 8) && head[8] === 0x7b) return 'safetensors';
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 512)).trimStart();
  if (text.startsWith('{') && /"weight_map"\s*:/.test(new TextDecoder().decode(head))) return 'safetensors-index';
  if (llama2cSize(head) === BigInt(size)) return 'llama2c';
  // ModelProto's first field is ir_version (field 1, varint): tag byte 0x08.
  if (head[0] === 0x08) return 'onnx';
  return 'unknown';
}
