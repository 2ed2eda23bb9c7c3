/**
 * Writes a safetensors file (format as in safetensors-header.ts) tensor by tensor: the
 * header is built from names, dtypes and shapes first, then each tensor's values are asked
 * for, converted and written, so only one tensor is in memory at a time. The header is
 * padded with spaces to a multiple of 8 bytes, as the Rust crate writes it.
 */
import { open } from 'node:fs/promises';
import { float32ToBfloat16Array, float32ToFloat16Array } from '@distillery/onnx';

export type WritableDtype = 'F32' | 'F16' | 'BF16';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: WritableDtype;
  readonly shape: readonly number[];
}

const BYTES: Record<WritableDtype, number> = { F32: 4, F16: 2, BF16: 2 };

function encode(values: Float32Array, dtype: WritableDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const halves = dtype === 'F16' ? float32ToFloat16Array(values) : float32ToBfloat16Array(values);
  return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
}

/** The header bytes (length prefix included) for tensors laid out in the given order. */
export function safetensorsHeaderBytes(tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((n, d) => n * d, 1) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const utf8 = new TextEncoder();
  json += ' '.repeat((8 - (utf8.encode(json).byteLength % 8)) % 8);
  const body = utf8.encode(json);
  const out = new Uint8Array(8 + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  out.set(body, 8);
  return out;
}

/** Writes `tensors` in order; `values(name)` supplies each one's float32 values when its turn comes. */
export async function writeSafetensors(
  file: string,
  tensors: readonly TensorToWrite[],
  values: (name: string) => Float32Array | Promise<Float32Array>,
  metadata: Record<string, string> = {},
): Promise<number> {
  const handle = await open(file, 'w');
  try {
    const header = safetensorsHeaderBytes(tensors, metadata);
    await handle.write(header);
    let written = header.byteLength;
    for (const t of tensors) {
      const data = await values(t.name);
      const expected = t.shape.reduce((n, d) => n * d, 1);
      if (data.length !== expected) throw new Error(`${t.name}: ${data.length} values for shape [${t.shape.join(', ')}] (${expected})`);
      const bytes = encode(data, t.dtype);
      await handle.write(bytes);
      written += bytes.byteLength;
    }
    return written;
  } finally {
    await handle.close();
  }
}
