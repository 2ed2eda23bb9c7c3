/**
 * quantize.rtn-int8: weight-only int8, symmetric, one scale per output channel, by plain
 * round-to-nearest. Each eligible MatMul weight W[in, out] becomes an int8 initializer
 * plus a float32 scale[out], dequantized in the graph by DequantizeLinear(axis=1), so
 * stock ONNX Runtime runs the result and the file holds a quarter of the weight bytes.
 */
import { z } from 'zod';
import { byteLength, makeTensor, tensorToFloat32, type Model, type Node, type Tensor } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { findLinearWeights, linearLayerName, type LinearWeight } from '../linear-weights';
import { quantizeWeight, signedCodes } from '../kit/quantizer';
import { throwIfCanceled } from '../canceled';

export const rtnInt8Params = z
  .object({
    /** A layer is left in float when its MatMul node name or weight name contains any of these. */
    skip: z.array(z.string().min(1)).default([]),
    /** Layers whose weight has fewer elements than this stay in float (scales would eat the gain). */
    minSize: z.number().int().nonnegative().default(0),
  })
  .strict();

export type RtnInt8Params = z.output<typeof rtnInt8Params>;

/** DequantizeLinear with per-axis scales needs opset 13. */
const MIN_OPSET = 13;

function defaultOpset(model: Model): number {
  const imp = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return imp?.version ?? 0;
}

function floatValues(t: Tensor): Float32Array {
  // Copy unaligned bytes first: a Buffer-backed raw at an odd offset is not safe to view
  // as 16/32-bit elements (Buffer.slice shares memory instead of copying).
  const raw = t.raw.byteOffset % 4 === 0 ? t.raw : new Uint8Array(t.raw);
  return tensorToFloat32({ ...t, raw });
}

function uniqueName(used: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  used.add(name);
  return name;
}

function allValueNames(model: Model): Set<string> {
  const g = model.graph;
  const used = new Set<string>();
  for (const t of g.initializers) used.add(t.name);
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) used.add(v.name);
  for (const n of g.nodes) {
    for (const o of n.outputs) used.add(o);
    used.add(n.name);
  }
  return used;
}

export async function quantizeRtnInt8(model: Model, params: RtnInt8Params, ctx: TechniqueContext): Promise<TechniqueResult> {
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET) {
    throw new Error(`quantize.rtn-int8 needs opset >= ${MIN_OPSET} for per-channel DequantizeLinear; this model imports opset ${opset}`);
  }
  const candidates = findLinearWeights(model);
  const skipped: string[] = [];
  const chosen: LinearWeight[] = [];
  for (const l of candidates) {
    const name = linearLayerName(l);
    const named = params.skip.some((s) => name.includes(s) || l.weight.name.includes(s));
    if (named || !l.exclusive || l.weight.raw.byteLength === 0 || l.inFeatures * l.outFeatures < params.minSize) skipped.push(name);
    else chosen.push(l);
  }

  const used = allValueNames(model);
  const dropped = new Set<string>(); // initializer names replaced
  const droppedNodes = new Set<Node>(); // Casts made dead
  const added: Tensor[] = [];
  const dequantBefore = new Map<Node, Node>(); // first MatMul -> its DequantizeLinear
  const rewiredB = new Map<Node, string>(); // MatMul -> new B input
  let bytesBefore = 0;
  let bytesAfter = 0;

  for (let k = 0; k < chosen.length; k++) {
    throwIfCanceled(ctx.signal, 'quantize.rtn-int8');
    const l = chosen[k]!;
    const qw = quantizeWeight(floatValues(l.weight), l.inFeatures, l.outFeatures, { bits: 8, symmetric: true }, linearLayerName(l));
    const q = signedCodes(qw);
    const scales = qw.scales;
    const qName = uniqueName(used, `${l.weight.name}_quantized`);
    const sName = uniqueName(used, `${l.weight.name}_scale`);
    const outName = uniqueName(used, `${l.weight.name}_dequantized`);
    added.push(makeTensor(qName, 'int8', [l.inFeatures, l.outFeatures], q), makeTensor(sName, 'float32', [l.outFeatures], scales));
    const first = l.matmuls[0]!;
    dequantBefore.set(first, {
      name: uniqueName(used, `${first.name || l.weight.name}/DequantizeLinear`),
      opType: 'DequantizeLinear',
      domain: '',
      inputs: [qName, sName],
      outputs: [outName],
      attributes: { axis: { type: 'int', value: 1 } },
    });
    for (const m of l.matmuls) rewiredB.set(m, outName);
    dropped.add(l.weight.name);
    if (l.cast) droppedNodes.add(l.cast);
    bytesBefore += l.weight.raw.byteLength;
    bytesAfter += byteLength('int8', [l.inFeatures, l.outFeatures]) + byteLength('float32', [l.outFeatures]);
    ctx.onProgress((k + 1) / chosen.length, linearLayerName(l));
  }

  const nodes: Node[] = [];
  for (const n of model.graph.nodes) {
    if (droppedNodes.has(n)) continue;
    const dq = dequantBefore.get(n);
    if (dq) nodes.push(dq);
    const b = rewiredB.get(n);
    nodes.push(b ? { ...n, inputs: [n.inputs[0]!, b, ...n.inputs.slice(2)] } : n);
  }
  const deadValues = new Set([...droppedNodes].flatMap((n) => n.outputs));
  const graph = {
    ...model.graph,
    nodes,
    initializers: [...model.graph.initializers.filter((t) => !dropped.has(t.name)), ...added],
    valueInfo: model.graph.valueInfo.filter((v) => !deadValues.has(v.name)),
  };
  ctx.log.info('quantize.rtn-int8 done', { quantized: chosen.length, skipped: skipped.length });
  ctx.onProgress(1);
  return {
    model: { ...model, graph },
    report: {
      layersQuantized: chosen.length,
      layersSkipped: skipped.length,
      skippedLayers: skipped.join(','),
      weightBytesBefore: bytesBefore,
      weightBytesAfter: bytesAfter,
    },
  };
}

export const rtnInt8 = defineTechnique({
  id: 'quantize.rtn-int8',
  family: 'quantize',
  title: 'Round-to-nearest int8 (weight-only, per channel)',
  description:
    'Rounds every linear-layer weight to int8 with one symmetric scale per output channel (max|w|/127) and ' +
    'dequantizes it in the graph with DequantizeLinear. No calibration data; about 4x fewer weight bytes.',
  params: rtnInt8Params,
  apply: quantizeRtnInt8,
});
