/**
 * The weights of a safetensors folder as the tensor sources a model builder stores: float16
 * when every weight is F16, or BF16 within float16's range (the BF16 weights are read once
 * beforehand to know), else float32. Each source reads, checks and lays out its tensor only
 * when the model is written, so the conversion holds one tensor at a time.
 */
import type { TensorSource } from '@distillery/onnx';
import { HalfRangeError } from './safetensors-reader';

export interface SafetensorsWeight {
  /** Our weight name and shape. */
  readonly name: string;
  readonly dims: readonly number[];
  /** As stored (F32, F16, BF16). */
  readonly dtype: string;
  /** Our layout as float16 bits (F16 and BF16 only). */
  readHalf(): Promise<Uint16Array>;
  /** Our layout as float32. */
  readFloat(): Promise<Float32Array>;
}

export interface WeightSources {
  readonly sources: Map<string, TensorSource>;
  readonly weightDtype: 'float32' | 'float16';
}

const bytesOf = (v: Float32Array | Uint16Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** Warnings about the storage chosen go to `warnings`; `onProgress` hears each tensor as it is read for writing. */
export async function weightSources(
  weights: readonly SafetensorsWeight[],
  warnings: string[],
  onProgress?: (fraction: number, tensor: string) => void,
): Promise<WeightSources> {
  let half = weights.every((w) => w.dtype === 'F16' || w.dtype === 'BF16');
  if (half) {
    for (const w of weights) {
      if (w.dtype !== 'BF16') continue;
      try {
        await w.readHalf();
      } catch (error) {
        if (!(error instanceof HalfRangeError)) throw error;
        warnings.push(`${error.field} holds ${error.value}, beyond float16's range, so the model is kept in float32`);
        half = false;
        break;
      }
    }
    if (half && weights.some((w) => w.dtype === 'BF16')) warnings.push('BF16 weights are stored as float16 (more mantissa bits, smaller range; every weight fits)');
  }
  const sources = new Map<string, TensorSource>();
  let done = 0;
  for (const w of weights) {
    sources.set(w.name, {
      dtype: half ? 'float16' : 'float32',
      dims: w.dims,
      read: async () => {
        const bytes = bytesOf(half ? await w.readHalf() : await w.readFloat());
        onProgress?.(++done / weights.length, w.name);
        return bytes;
      },
    });
  }
  return { sources, weightDtype: half ? 'float16' : 'float32' };
}
