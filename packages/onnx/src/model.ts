/**
 * The in-memory ONNX model every Distillery package works on. It mirrors ModelProto's
 * structure with plain data: tensors hold their bytes exactly as ONNX `raw_data` stores
 * them (little-endian; 4-bit types packed two per byte, low nibble first), so reading,
 * editing and writing never reinterpret weights behind the caller's back.
 */
import type { DType } from './dtype';

export interface Tensor {
  name: string;
  dtype: DType;
  dims: number[];
  /** Little-endian bytes in ONNX raw_data layout. */
  raw: Uint8Array;
}

export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** undefined: rank unknown. A string is a symbolic (dynamic) dimension, null an unknown one. */
  shape?: Dim[];
}

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph };

export interface Node {
  name: string;
  opType: string;
  /** '' is the default ONNX domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  graph: Graph;
  metadata: Record<string, string>;
}

/** Attribute constructors, so graph code reads `{ axis: attr.int(1) }`. */
export const attr = {
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  int: (value: number): AttributeValue => ({ type: 'int', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  floats: (value: number[]): AttributeValue => ({ type: 'floats', value }),
  ints: (value: number[]): AttributeValue => ({ type: 'ints', value }),
  strings: (value: string[]): AttributeValue => ({ type: 'strings', value }),
  tensor: (value: Tensor): AttributeValue => ({ type: 'tensor', value }),
  graph: (value: Graph): AttributeValue => ({ type: 'graph', value }),
};

export function emptyGraph(name = 'main'): Graph {
  return { name, nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
}

/** Opset 17 is what onnxruntime-node 1.30 and Optimum exports both handle fully; 1 for com.microsoft. */
export const DEFAULT_OPSET = 17;

export function createModel(graph: Graph, opts: Partial<Omit<Model, 'graph'>> = {}): Model {
  return {
    irVersion: opts.irVersion ?? 8,
    opsetImports: opts.opsetImports ?? [{ domain: '', version: DEFAULT_OPSET }],
    producerName: opts.producerName ?? 'distillery',
    producerVersion: opts.producerVersion ?? '0.1.0',
    metadata: opts.metadata ?? {},
    graph,
  };
}
