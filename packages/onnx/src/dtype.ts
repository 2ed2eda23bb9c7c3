/** ONNX element types Distillery reads and writes, with their TensorProto.DataType codes. */
export const DTYPES = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
  uint4: 21,
  int4: 22,
} as const;

export type DType = keyof typeof DTYPES;

const BY_CODE = new Map<number, DType>(Object.entries(DTYPES).map(([k, v]) => [v, k as DType]));

export function dtypeFromCode(code: number): DType {
  const d = BY_CODE.get(code);
  if (!d) throw new Error(`unsupported ONNX data type code ${code}`);
  return d;
}

export function dtypeCode(dtype: DType): number {
  return DTYPES[dtype];
}

/** Bits per element; 4-bit types are packed two per byte. */
export function dtypeBits(dtype: DType): number {
  switch (dtype) {
    case 'uint4':
    case 'int4':
      return 4;
    case 'bool':
    case 'int8':
    case 'uint8':
      return 8;
    case 'float16':
    case 'bfloat16':
    case 'int16':
    case 'uint16':
      return 16;
    case 'float32':
    case 'int32':
    case 'uint32':
      return 32;
    case 'float64':
    case 'int64':
    case 'uint64':
      return 64;
    case 'string':
      throw new Error('string tensors have no fixed element size');
  }
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Bytes a dense tensor of this dtype and shape occupies in raw_data. */
export function byteLength(dtype: DType, dims: readonly number[]): number {
  return Math.ceil((elementCount(dims) * dtypeBits(dtype)) / 8);
}
