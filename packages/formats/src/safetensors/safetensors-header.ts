/**
 * The header of a safetensors file (huggingface/safetensors, "Format" in its README): an
 * unsigned 64-bit little-endian length N, N bytes of UTF-8 JSON mapping each tensor name to
 * {dtype, shape, data_offsets: [begin, end]} (offsets relative to the byte after the
 * header) plus an optional "__metadata__" map of strings, then the tensor bytes.
 * Everything is checked before any tensor is read, so a header claiming 2^60 elements is
 * refused without allocating.
 */
import { FormatError } from '../format-error';

/** Element sizes of the spec's dtypes; the importer reads only the float ones. */
export const SAFETENSORS_DTYPE_BYTES = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte offsets in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the first tensor: 8 + N. */
  readonly dataStart: number;
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The Rust crate refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

const isDtype = (value: unknown): value is SafetensorsDtype => typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, value);

/** Header length from the first 8 bytes, checked against the file size. */
export function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) throw new FormatError(file, 'header length', `the file has ${fileSize} bytes, fewer than the 8-byte header length (truncated?)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) throw new FormatError(file, 'header length', `${n} bytes of header go past the end of the file (${fileSize} bytes; truncated or not a safetensors file)`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new FormatError(file, 'header length', `${n} bytes is larger than the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2n) throw new FormatError(file, 'header length', `${n} bytes cannot hold a JSON object`);
  return Number(n);
}

/** Parses and checks the JSON header; `fileSize` bounds every tensor's bytes. */
export function parseHeader(json: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataStart = 8 + json.byteLength;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (error) {
    throw new FormatError(file, 'header', `not valid UTF-8 JSON (${(error as Error).message}); not a safetensors file?`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FormatError(file, 'header', 'must be a JSON object');
  const dataBytes = fileSize - dataStart;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw new FormatError(file, '__metadata__', 'must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    tensors.set(name, tensorInfo(name, entry, dataStart, dataBytes, file));
  }
  return { dataStart, tensors, metadata };
}

function tensorInfo(name: string, entry: unknown, dataStart: number, dataBytes: number, file: string): SafetensorsTensorInfo {
  const field = (f: string) => `${name}.${f}`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new FormatError(file, name, 'must be an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isDtype(dtype)) throw new FormatError(file, field('dtype'), `unknown dtype ${JSON.stringify(dtype)} (the format defines ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(file, field('shape'), `must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw new FormatError(file, field('data_offsets'), `must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  // Multiplying in BigInt: a shape of [2^30, 2^30, 2^30] must not round to something plausible.
  const elements = (shape as number[]).reduce((n, d) => n * BigInt(d), 1n);
  const expected = elements * BigInt(SAFETENSORS_DTYPE_BYTES[dtype]);
  const [begin, end] = offsets as [number, number];
  if (expected > BigInt(dataBytes)) {
    throw new FormatError(file, field('shape'), `[${shape.join(', ')}] of ${dtype} needs ${expected} bytes, more than the file's ${dataBytes} bytes of tensor data`);
  }
  if (BigInt(end - begin) !== expected) {
    throw new FormatError(file, field('data_offsets'), `[${begin}, ${end}] spans ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`);
  }
  if (end > dataBytes) throw new FormatError(file, field('data_offsets'), `end ${end} is past the end of the file's ${dataBytes} bytes of tensor data (truncated?)`);
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}
