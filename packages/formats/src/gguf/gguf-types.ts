/**
 * GGUF file constants (the format of llama.cpp's ggml, spec in ggml's docs/gguf.md): the
 * magic, metadata value types, and the ggml tensor types this package reads or writes
 * with their block layout.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Byte size of each fixed-size value type (strings and arrays are variable). */
export const VALUE_TYPE_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** ggml tensor type codes (ggml.h `enum ggml_type`). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
}

/** Weights per block and bytes per block of the types we decode. */
export const GGML_BLOCK: Partial<Record<GgmlType, { weights: number; bytes: number }>> = {
  [GgmlType.F32]: { weights: 1, bytes: 4 },
  [GgmlType.F16]: { weights: 1, bytes: 2 },
  [GgmlType.BF16]: { weights: 1, bytes: 2 },
  // fp16 scale + 32 signed bytes.
  [GgmlType.Q8_0]: { weights: 32, bytes: 34 },
  // fp16 scale + 16 bytes of 4-bit codes.
  [GgmlType.Q4_0]: { weights: 32, bytes: 18 },
  // Super-blocks of 256: fp16 d and dmin, 12 bytes of 6-bit sub-block scales and mins, 128 bytes of 4-bit codes.
  [GgmlType.Q4_K]: { weights: 256, bytes: 144 },
  // Super-blocks of 256: 128 bytes of low 4 bits, 64 of high 2 bits, 16 int8 sub-block scales, fp16 d.
  [GgmlType.Q6_K]: { weights: 256, bytes: 210 },
};

export function ggmlTypeName(type: number): string {
  return GgmlType[type] ?? `unknown type ${type}`;
}

/** llama.cpp's `general.file_type` (enum llama_ftype) for files that are all one type. */
export const FILE_TYPE: Record<'F32' | 'F16' | 'BF16' | 'Q4_0' | 'Q8_0', number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, BF16: 32 };

/** tokenizer.ggml.token_type values (llama.cpp `enum llama_token_type`). */
export enum GgufTokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

/** One metadata value with its GGUF type; arrays hold values of one element type. */
export type GgufValue =
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.UINT8 | GgufValueType.INT8 | GgufValueType.UINT16 | GgufValueType.INT16 | GgufValueType.UINT32 | GgufValueType.INT32 | GgufValueType.FLOAT32 | GgufValueType.FLOAT64; value: number }
  | { type: GgufValueType.UINT64 | GgufValueType.INT64; value: bigint }
  | { type: GgufValueType.ARRAY; elementType: GgufValueType; value: Array<string | number | boolean | bigint> };

export type GgufMetadata = Map<string, GgufValue>;

export class GgufFormatError extends Error {
  override name = 'GgufFormatError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}: ${field}: ${problem}`);
  }
}
