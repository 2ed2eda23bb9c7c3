/**
 * Conversion between ONNX protobuf messages (the `onnx-proto` generated code) and the
 * plain Model of model.ts. Pure: external data is supplied by a callback, so file
 * access stays in model-io.ts.
 */
import onnxProto from 'onnx-proto';
import type { AttributeValue, Dim, Graph, Model, Node, Tensor, ValueInfo } from './model';
import { byteLength, dtypeCode, dtypeFromCode, type DType } from './dtype';

const { onnx } = onnxProto;
type Long = { toNumber(): number };
type IntLike = number | Long | null | undefined;

function num(v: IntLike): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8enc = new TextEncoder();

/** Where a tensor's bytes live outside the .onnx file (ONNX external data spec). */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number | undefined;
}

export type ExternalLoader = (ref: ExternalRef, tensorName: string) => Uint8Array;

/** Where a TensorProto's bytes live when it uses external data (its length defaults to its dtype and dims); null when inline. */
export function externalRefOf(t: onnxProto.onnx.ITensorProto): ExternalRef | null {
  if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return null;
  const name = t.name ?? '';
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new Error(`tensor "${name}" has external data without a location`);
  const dtype = dtypeFromCode(t.dataType ?? 0);
  const expected = dtype === 'string' ? undefined : byteLength(dtype, (t.dims ?? []).map((d) => num(d)));
  return { location, offset: Number(kv.get('offset') ?? 0), length: kv.has('length') ? Number(kv.get('length')) : expected };
}

/** A TensorProto's fields (raw_data left out by the caller, say), for reading a tensor's head without its bytes. */
export function decodeTensorProto(bytes: Uint8Array): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.decode(bytes);
}

export function tensorFromProto(t: onnxProto.onnx.ITensorProto, loadExternal?: ExternalLoader): Tensor {
  const name = t.name ?? '';
  const dtype = dtypeFromCode(t.dataType ?? 0);
  const dims = (t.dims ?? []).map((d) => num(d));
  const expected = dtype === 'string' ? -1 : byteLength(dtype, dims);
  let raw: Uint8Array;
  const ref = externalRefOf(t);
  if (ref !== null) {
    if (!loadExternal) throw new Error(`tensor "${name}" uses external data but no model folder was given`);
    raw = loadExternal(ref, name);
  } else if (t.rawData && t.rawData.length > 0) {
    raw = t.rawData;
  } else {
    raw = typedFieldToRaw(t, dtype, expected);
  }
  if (expected >= 0 && raw.byteLength !== expected) {
    throw new Error(`tensor "${name}": ${raw.byteLength} bytes of data for ${dtype}[${dims.join(',')}] (expected ${expected})`);
  }
  return { name, dtype, dims, raw };
}

/** ONNX allows typed repeated fields instead of raw_data; normalise them to raw bytes. */
function typedFieldToRaw(t: onnxProto.onnx.ITensorProto, dtype: DType, expected: number): Uint8Array {
  const out = new Uint8Array(Math.max(expected, 0));
  const view = new DataView(out.buffer);
  switch (dtype) {
    case 'float32':
      (t.floatData ?? []).forEach((v, i) => view.setFloat32(i * 4, v, true));
      return out;
    case 'float64':
      (t.doubleData ?? []).forEach((v, i) => view.setFloat64(i * 8, v, true));
      return out;
    case 'int64':
      (t.int64Data ?? []).forEach((v, i) => view.setBigInt64(i * 8, BigInt(num(v)), true));
      return out;
    case 'uint64':
    case 'uint32':
      (t.uint64Data ?? []).forEach((v, i) =>
        dtype === 'uint64' ? view.setBigUint64(i * 8, BigInt(num(v)), true) : view.setUint32(i * 4, num(v), true),
      );
      return out;
    case 'int32':
      (t.int32Data ?? []).forEach((v, i) => view.setInt32(i * 4, v, true));
      return out;
    case 'float16':
    case 'bfloat16':
    case 'int16':
    case 'uint16':
      (t.int32Data ?? []).forEach((v, i) => view.setUint16(i * 2, v & 0xffff, true));
      return out;
    case 'int8':
    case 'uint8':
    case 'bool':
      (t.int32Data ?? []).forEach((v, i) => view.setUint8(i, v & 0xff));
      return out;
    case 'int4':
    case 'uint4':
      // int32_data holds the packed bytes for 4-bit types.
      (t.int32Data ?? []).forEach((v, i) => view.setUint8(i, v & 0xff));
      return out;
    case 'string':
      throw new Error(`tensor "${t.name}": string tensors are not supported`);
  }
}

/** A hand-built Tensor can carry the wrong number of bytes; refuse it before ORT misreads it. */
function checkTensorBytes(t: Tensor): void {
  if (t.dtype === 'string') throw new Error(`tensor "${t.name}": string tensors are not supported`);
  const expected = byteLength(t.dtype, t.dims);
  if (t.raw.byteLength !== expected) {
    throw new Error(`tensor "${t.name}": ${t.raw.byteLength} bytes of data for ${t.dtype}[${t.dims.join(',')}] (expected ${expected})`);
  }
}

export function tensorToProto(t: Tensor): onnxProto.onnx.ITensorProto {
  checkTensorBytes(t);
  return { name: t.name, dataType: dtypeCode(t.dtype), dims: t.dims, rawData: t.raw };
}

function shapeFromType(tp: onnxProto.onnx.ITypeProto | null | undefined): { dtype: DType; shape?: Dim[] } {
  const tt = tp?.tensorType;
  if (!tt) throw new Error('only tensor-typed graph values are supported');
  const dtype = dtypeFromCode(tt.elemType ?? 0);
  if (!tt.shape) return { dtype };
  const shape: Dim[] = (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? num(d.dimValue) : null));
  return { dtype, shape };
}

function valueInfoFromProto(v: onnxProto.onnx.IValueInfoProto): ValueInfo {
  return { name: v.name ?? '', ...shapeFromType(v.type) };
}

function valueInfoToProto(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  const shape = v.shape
    ? { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : d === null ? {} : { dimValue: d })) }
    : undefined;
  return { name: v.name, type: { tensorType: { elemType: dtypeCode(v.dtype), shape } } };
}

const AT = onnx.AttributeProto.AttributeType;

function attributeFromProto(a: onnxProto.onnx.IAttributeProto, loadExternal?: ExternalLoader): AttributeValue {
  switch (a.type) {
    case AT.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case AT.INT:
      return { type: 'int', value: num(a.i) };
    case AT.STRING:
      return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case AT.FLOATS:
      return { type: 'floats', value: a.floats ?? [] };
    case AT.INTS:
      return { type: 'ints', value: (a.ints ?? []).map(num) };
    case AT.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case AT.TENSOR:
      return { type: 'tensor', value: tensorFromProto(a.t ?? {}, loadExternal) };
    case AT.GRAPH:
      return { type: 'graph', value: graphFromProto(a.g ?? {}, loadExternal) };
    default:
      throw new Error(`attribute "${a.name}": unsupported attribute type ${a.type}`);
  }
}

function attributeToProto(name: string, a: AttributeValue): onnxProto.onnx.IAttributeProto {
  switch (a.type) {
    case 'float':
      return { name, type: AT.FLOAT, f: a.value };
    case 'int':
      return { name, type: AT.INT, i: a.value };
    case 'string':
      return { name, type: AT.STRING, s: utf8enc.encode(a.value) };
    case 'floats':
      return { name, type: AT.FLOATS, floats: a.value };
    case 'ints':
      return { name, type: AT.INTS, ints: a.value };
    case 'strings':
      return { name, type: AT.STRINGS, strings: a.value.map((s) => utf8enc.encode(s)) };
    case 'tensor':
      return { name, type: AT.TENSOR, t: tensorToProto(a.value) };
    case 'graph':
      return { name, type: AT.GRAPH, g: graphToProto(a.value) };
  }
}

function nodeFromProto(n: onnxProto.onnx.INodeProto, loadExternal?: ExternalLoader): Node {
  const attributes: Record<string, AttributeValue> = {};
  for (const a of n.attribute ?? []) attributes[a.name ?? ''] = attributeFromProto(a, loadExternal);
  return {
    name: n.name ?? '',
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attributes,
  };
}

function nodeToProto(n: Node): onnxProto.onnx.INodeProto {
  return {
    name: n.name,
    opType: n.opType,
    domain: n.domain,
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attributes).map(([k, v]) => attributeToProto(k, v)),
  };
}

export function graphFromProto(g: onnxProto.onnx.IGraphProto, loadExternal?: ExternalLoader): Graph {
  return {
    name: g.name ?? '',
    nodes: (g.node ?? []).map((n) => nodeFromProto(n, loadExternal)),
    initializers: (g.initializer ?? []).map((t) => tensorFromProto(t, loadExternal)),
    inputs: (g.input ?? []).map(valueInfoFromProto),
    outputs: (g.output ?? []).map(valueInfoFromProto),
    valueInfo: (g.valueInfo ?? []).map(valueInfoFromProto),
  };
}

/** `externalize` may replace an initializer by an external-data reference (it returns null to keep it inline). */
export function graphToProto(
  g: Graph,
  externalize?: (t: Tensor) => ExternalRef | null,
): onnxProto.onnx.IGraphProto {
  return {
    name: g.name,
    node: g.nodes.map(nodeToProto),
    initializer: g.initializers.map((t) => {
      checkTensorBytes(t);
      const ref = externalize?.(t);
      if (!ref) return tensorToProto(t);
      return {
        name: t.name,
        dataType: dtypeCode(t.dtype),
        dims: t.dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: ref.location },
          { key: 'offset', value: String(ref.offset) },
          { key: 'length', value: String(ref.length ?? t.raw.byteLength) },
        ],
      };
    }),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    valueInfo: g.valueInfo.map(valueInfoToProto),
  };
}

export function decodeModel(bytes: Uint8Array, loadExternal?: ExternalLoader): Model {
  let m: onnxProto.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`not an ONNX model: protobuf decoding failed (${(e as Error).message})`);
  }
  // Arbitrary bytes often decode as a protobuf by accident; a real model always has both.
  if (!m.graph) throw new Error('not an ONNX model: ModelProto has no graph');
  if (num(m.irVersion) <= 0) throw new Error('not an ONNX model: ModelProto has no ir_version');
  const metadata: Record<string, string> = {};
  for (const p of m.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    irVersion: num(m.irVersion),
    opsetImports: (m.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: num(o.version) })),
    producerName: m.producerName ?? '',
    producerVersion: m.producerVersion ?? '',
    graph: graphFromProto(m.graph, loadExternal),
    metadata,
  };
}

/**
 * A model's encoding around its initializers, for writing them one at a time: the file is
 * modelHead, graph field (tag, length), graphHead, each initializer field, graphTail,
 * modelTail. protobufjs writes fields in field-number order and a message is the
 * concatenation of its fields, so these parts concatenate to what encodeModel gives.
 */
export interface ModelFrame {
  modelHead: Uint8Array;
  graphHead: Uint8Array;
  graphTail: Uint8Array;
  modelTail: Uint8Array;
}

export function encodeModelFrame(model: Model): ModelFrame {
  const g = graphToProto({ ...model.graph, initializers: [] });
  return {
    modelHead: onnx.ModelProto.encode({ irVersion: model.irVersion, producerName: model.producerName, producerVersion: model.producerVersion }).finish(),
    graphHead: onnx.GraphProto.encode({ node: g.node, name: g.name }).finish(),
    graphTail: onnx.GraphProto.encode({ input: g.input, output: g.output, valueInfo: g.valueInfo }).finish(),
    modelTail: onnx.ModelProto.encode({
      opsetImport: model.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
      metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
    }).finish(),
  };
}

/** A TensorProto's fields before raw_data (dims, data_type, name): the raw bytes follow as field 9. */
export function encodeTensorHead(name: string, dtype: DType, dims: readonly number[]): Uint8Array {
  return onnx.TensorProto.encode({ name, dataType: dtypeCode(dtype), dims: [...dims] }).finish();
}

/** Field numbers and wire types (length-delimited) of the fields the frame leaves out. */
export const MODEL_GRAPH_TAG = (7 << 3) | 2;
export const GRAPH_INITIALIZER_TAG = (5 << 3) | 2;
export const TENSOR_RAW_DATA_TAG = (9 << 3) | 2;

export function encodeModel(model: Model, externalize?: (t: Tensor) => ExternalRef | null): Uint8Array {
  const proto: onnxProto.onnx.IModelProto = {
    irVersion: model.irVersion,
    opsetImport: model.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    graph: graphToProto(model.graph, externalize),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(proto).finish();
}
