/**
 * Reads tensors of a safetensors file one at a time, so only the tensor asked for is in
 * memory. The header is parsed once; each read opens the file for itself, so a reader
 * needs no closing and can back tensor sources that are read long after it was made. F32, F16 and BF16 come back as float32; non-finite values
 * are refused naming the tensor and element.
 */
import { open } from 'node:fs/promises';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToFloat16Bits } from '@distillery/onnx';
import { FormatError } from '../format-error';
import { headerLength, parseHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from './safetensors-header';

export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** A bfloat16 value beyond float16's range (65504): the caller keeps that model in float32. */
export class HalfRangeError extends FormatError {
  constructor(file: string, tensor: string, readonly value: number) {
    super(file, tensor, `holds ${value}, beyond float16's range`);
  }
}

export class SafetensorsReader {
  private constructor(
    readonly file: string,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(file: string): Promise<SafetensorsReader> {
    const handle = await open(file, 'r');
    try {
      const size = (await handle.stat()).size;
      const prefix = new Uint8Array(8);
      await handle.read(prefix, 0, Math.min(8, size), 0);
      const n = headerLength(prefix, size, file);
      const json = new Uint8Array(n);
      const { bytesRead } = await handle.read(json, 0, n, 8);
      if (bytesRead !== n) throw new FormatError(file, 'header', `read ${bytesRead} of ${n} header bytes (truncated?)`);
      return new SafetensorsReader(file, parseHeader(json, size, file));
    } finally {
      await handle.close();
    }
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw new FormatError(this.file, name, 'no such tensor in the file');
    return info;
  }

  /** The tensor's raw bytes. */
  async readBytes(name: string): Promise<Uint8Array> {
    const { begin, end } = this.info(name);
    const bytes = new Uint8Array(end - begin);
    const handle = await open(this.file, 'r');
    let bytesRead = 0;
    try {
      while (bytesRead < bytes.byteLength) {
        const n = (await handle.read(bytes, bytesRead, bytes.byteLength - bytesRead, begin + bytesRead)).bytesRead;
        if (n === 0) break;
        bytesRead += n;
      }
    } finally {
      await handle.close();
    }
    if (bytesRead !== bytes.byteLength) throw new FormatError(this.file, name, `read ${bytesRead} of ${bytes.byteLength} bytes (the file is truncated)`);
    return bytes;
  }

  /** The tensor as float32, refusing non-float dtypes and NaN or infinite values. */
  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    const bytes = await this.readBytes(name);
    const out = toFloat32(bytes, info, this.file);
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i])) throw new FormatError(this.file, name, `holds ${out[i]} at element ${i}; weights must be finite`);
    }
    return out;
  }

  /** An F16 tensor's half-precision bits as stored, or a BF16 tensor's values rounded to half precision; non-finite values refused. */
  async readFloat16Bits(name: string): Promise<Uint16Array> {
    const info = this.info(name);
    if (info.dtype !== 'F16' && info.dtype !== 'BF16') throw new FormatError(this.file, `${name}.dtype`, `${info.dtype} cannot be read as float16 bits`);
    const bytes = await this.readBytes(name);
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    if (info.dtype === 'F16') {
      for (let i = 0; i < halves.length; i++) {
        // Exponent all ones: infinity or NaN.
        if ((halves[i] & 0x7c00) === 0x7c00) throw new FormatError(this.file, name, `holds ${float16BitsToFloat32(halves[i])} at element ${i}; weights must be finite`);
      }
      return halves;
    }
    const out = new Uint16Array(halves.length);
    for (let i = 0; i < halves.length; i++) {
      const value = bfloat16BitsToFloat32(halves[i]);
      if (!Number.isFinite(value)) throw new FormatError(this.file, name, `holds ${value} at element ${i}; weights must be finite`);
      out[i] = float32ToFloat16Bits(value);
      if ((out[i] & 0x7c00) === 0x7c00) throw new HalfRangeError(this.file, name, value);
    }
    return out;
  }
}

let halfTable: Float32Array | null = null;

/** All 65,536 half-precision values, so widening is one lookup per element. */
function float16Table(): Float32Array {
  if (halfTable === null) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToFloat32(h);
  }
  return halfTable;
}

// The format is little-endian, as are the machines this runs on; checked once.
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function toFloat32(bytes: Uint8Array, info: SafetensorsTensorInfo, file: string): Float32Array {
  if (!LITTLE_ENDIAN) throw new FormatError(file, info.name, 'reading safetensors needs a little-endian machine');
  // readBytes allocates each tensor afresh, so its buffer starts aligned.
  switch (info.dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    case 'F16': {
      const table = float16Table();
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      const out = new Float32Array(halves.length);
      for (let i = 0; i < out.length; i++) out[i] = table[halves[i]];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32 (Kalamkar et al. 2019, section 2).
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      const bits = new Uint32Array(halves.length);
      for (let i = 0; i < bits.length; i++) bits[i] = halves[i] << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      throw new FormatError(file, `${info.name}.dtype`, `${info.dtype} weights are not supported (expected one of ${FLOAT_DTYPES.join(', ')})`);
  }
}
