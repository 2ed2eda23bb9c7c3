/**
 * The weight-rewrite driver: every weight-only method (RTN, GPTQ, AWQ, HQQ, pruning,
 * low-rank, weight sharing) is a callback over the linear layers this driver selects.
 *
 *   const { model, report } = await rewriteLinear(model, {
 *     technique: 'quantize.rtn', selection: params,         // linearSelectionParams fields
 *     format: 'matmulnbits', accuracyLevel: 4,               // how `quantized` results are written
 *     method: (t) => ({ kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, spec, t.name) }),
 *     ctx,
 *   });
 *
 * The method receives each selected layer as a `LinearTarget` (float32 values whatever the
 * stored dtype: float32, float16 behind a Cast, or float16 read directly by a float16
 * MatMul) and returns a `LinearResult` (dense, quantized, codebook, factors) or null to
 * keep the layer. Non-finite weights are refused naming the layer; a run that changes no
 * layer throws, saying what was found. The input model is not mutated.
 */
import { blockFromName, ensureOpset, tensorToFloat32, type Model, type Node, type Tensor } from '@distillery/onnx';
import { throwIfCanceled } from '../canceled';
import type { TechniqueContext, TechniqueReport } from '../technique';
import { writeBitPacked } from './formats/bitpacked';
import { writeCodebook } from './formats/codebook';
import { writeDense } from './formats/dense';
import { writeDequantizeLinear } from './formats/dequantize-linear';
import { writeFactors } from './formats/factors';
import { writeHashed } from './formats/hashed';
import { writeMatMulInteger } from './formats/matmul-integer';
import { writeMatMulNBits } from './formats/matmulnbits';
import { LinearEdit } from './linear-edit';
import type { LinearResult, LinearTarget, QuantizedFormat, StorageDtype } from './linear-result';
import type { QuantizedWeight } from './quantizer';
import { raiseOpset } from './raise-opset';
import { noLayerMatched, selectLinearLayers, type LinearSelectionInput, type SelectedLayer } from './select-linear';

export interface RewriteLinearOptions {
  /** The technique id, used in every message. */
  technique: string;
  selection?: LinearSelectionInput;
  /** Layers chosen beforehand (e.g. after capturing their activations); overrides `selection`. */
  layers?: SelectedLayer[];
  format?: QuantizedFormat;
  /** MatMulNBits accuracy_level (see formats/matmulnbits.ts). */
  accuracyLevel?: number;
  method: (target: LinearTarget) => LinearResult | null | Promise<LinearResult | null>;
  ctx: TechniqueContext;
}

export interface LayerOutcome {
  name: string;
  kind: LinearResult['kind'];
  weights: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface RewriteLinearResult {
  model: Model;
  layers: LayerOutcome[];
  report: TechniqueReport;
}

/** Refuses a layer with NaN or infinite weights, naming the layer and the first bad entry. */
export function checkFinite(technique: string, t: LinearTarget): void {
  const v = t.values;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      const r = Math.floor(i / t.outFeatures);
      throw new Error(`${technique}: layer ${t.name} (weight ${t.weightName}) has ${v[i]} at row ${r}, column ${i % t.outFeatures}; refusing to rewrite non-finite weights`);
    }
  }
}

function transposed(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c]!;
  return out;
}

/** A selected layer as methods see it: float32 values [in, out] whatever the stored dtype or a tied head's transpose. */
export function targetOf(l: SelectedLayer): LinearTarget {
  const w = l.layer.weight;
  return {
    name: l.name,
    weightName: w.name,
    block: l.block ?? blockFromName(w.name),
    role: l.role,
    inFeatures: l.layer.inFeatures,
    outFeatures: l.layer.outFeatures,
    storedDtype: w.dtype as StorageDtype,
    computeDtype: l.layer.computeDtype,
    values: l.layer.transpose ? transposed(tensorToFloat32(w), w.dims[0]!, w.dims[1]!) : tensorToFloat32(w),
    activationInputs: l.layer.matmuls.map((m) => m.inputs[0]!),
  };
}

export async function rewriteLinear(model: Model, opts: RewriteLinearOptions): Promise<RewriteLinearResult> {
  const { technique, ctx } = opts;
  let layers = opts.layers;
  let skipped: { name: string; reason: string }[] = [];
  if (!layers) {
    const sel = selectLinearLayers(model, opts.selection ?? {});
    if (!sel.selected.length) throw noLayerMatched(technique, model, sel);
    layers = sel.selected;
    skipped = sel.skipped;
  }
  const format = opts.format ?? 'dequantize-linear';
  const edit = new LinearEdit(model);
  const outcomes: LayerOutcome[] = [];
  const kept: string[] = [];
  const dropped = new Set<string>();
  const droppedNodes = new Set<Node>();
  // By identity: a dense rewrite may reuse the old weight's name for the new tensor.
  const droppedTensors = new Set<Tensor>();
  const deadCasts = layers.flatMap((l) => (l.layer.cast && !l.layer.transpose ? [l.layer.cast] : []));

  for (let k = 0; k < layers.length; k++) {
    throwIfCanceled(ctx.signal, technique);
    const l = layers[k]!;
    const target = targetOf(l);
    checkFinite(technique, target);
    const result = await opts.method(target);
    if (!result) {
      kept.push(l.name);
    } else {
      edit.takeBytes();
      const storage = result.kind === 'quantized' ? undefined : (result.dtype ?? target.storedDtype);
      switch (result.kind) {
        case 'dense':
          writeDense(edit, l.layer, result.values, storage!);
          break;
        case 'quantized': {
          const qw = result.weight;
          if (qw.rows !== target.inFeatures || qw.cols !== target.outFeatures) {
            throw new Error(`${technique}: layer ${l.name}: quantized weight is [${qw.rows}, ${qw.cols}], the layer is [${target.inFeatures}, ${target.outFeatures}]`);
          }
          if (format === 'dequantize-linear') writeDequantizeLinear(edit, l.layer, qw);
          else if (format === 'matmulnbits') writeMatMulNBits(edit, l.layer, qw, opts.accuracyLevel ?? 4);
          else if (format === 'bitpacked') writeBitPacked(edit, l.layer, qw);
          else writeMatMulInteger(edit, l.layer, qw);
          break;
        }
        case 'codebook':
          writeCodebook(edit, l.layer, result.codebook, result.indices, storage!, result.groupColumns);
          break;
        case 'factors':
          writeFactors(edit, l.layer, result.left, result.right, result.rank, storage!);
          break;
        case 'hashed':
          writeHashed(edit, l.layer, result.table, result.seed, storage!);
          break;
      }
      // A tied head keeps the table (the embedding still reads it): only its Transpose goes, and no bytes are freed.
      if (l.layer.transpose) droppedNodes.add(l.layer.transpose);
      else {
        dropped.add(l.layer.weight.name);
        droppedTensors.add(l.layer.weight);
      }
      const bytesBefore = l.layer.transpose ? 0 : l.layer.weight.raw.byteLength;
      outcomes.push({ name: l.name, kind: result.kind, weights: target.inFeatures * target.outFeatures, bytesBefore, bytesAfter: edit.takeBytes() });
    }
    ctx.onProgress((k + 1) / layers.length, l.name);
  }
  if (!outcomes.length) {
    throw new Error(`${technique}: changed no layer: the method kept all ${layers.length} selected layers as they were (${layers.slice(0, 8).map((l) => l.name).join(', ')}${layers.length > 8 ? ', ...' : ''})`);
  }

  const g = edit.graph;
  const castsToDrop = new Set(deadCasts.filter((c) => dropped.has(c.inputs[0]!)));
  for (const n of droppedNodes) castsToDrop.add(n);
  g.nodes = g.nodes.filter((n) => !castsToDrop.has(n));
  g.initializers = g.initializers.filter((t) => !droppedTensors.has(t));
  const deadValues = new Set([...castsToDrop].flatMap((n) => n.outputs));
  g.valueInfo = g.valueInfo.filter((v) => !deadValues.has(v.name));

  let out: Model = { ...model, graph: g, opsetImports: model.opsetImports.map((o) => ({ ...o })) };
  for (const [domain, version] of edit.opsets) {
    if (domain === '') out = raiseOpset(out, version);
    else ensureOpset(out, domain, version);
  }

  const weights = outcomes.reduce((s, o) => s + o.weights, 0);
  const before = outcomes.reduce((s, o) => s + o.bytesBefore, 0);
  const after = outcomes.reduce((s, o) => s + o.bytesAfter, 0);
  ctx.log.info(`${technique} rewrote linear layers`, { rewritten: outcomes.length, kept: kept.length, format });
  return {
    model: out,
    layers: outcomes,
    report: {
      layersRewritten: outcomes.length,
      layersKept: kept.length,
      layersSkipped: skipped.length,
      skippedLayers: skipped.map((s) => s.name).join(','),
      weightBytesBefore: before,
      weightBytesAfter: after,
      /** Stored bits per weight of the rewritten layers, scales and zero points included. */
      bitsPerWeight: Number(((after * 8) / weights).toFixed(4)),
    },
  };
}

/**
 * Writes weights quantized elsewhere (QAT, GPTQ run over a whole model) keyed by weight
 * name, as DequantizeLinear + MatMul or another format; layers not in the map are kept.
 */
export async function writeQuantizedWeights(
  model: Model,
  byWeight: ReadonlyMap<string, QuantizedWeight>,
  opts: { technique: string; format?: QuantizedFormat; accuracyLevel?: number; ctx: TechniqueContext },
): Promise<RewriteLinearResult> {
  return rewriteLinear(model, {
    ...opts,
    method: (t) => {
      const weight = byWeight.get(t.weightName);
      return weight ? { kind: 'quantized', weight } : null;
    },
  });
}
