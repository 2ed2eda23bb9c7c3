/**
 * Calibration activations of linear layers, computed by ONNX Runtime: the input X [tokens,
 * in] of each selected layer is exposed through extra graph outputs, and reduced inside the
 * same graph to what methods need, so only small tensors cross into JavaScript:
 *  - gram: X^T X [in, in] (Gemm with transA; the Hessian proxy of GPTQ, Frantar et al. 2022,
 *    eq. 1, H = 2 X X^T in their [in, tokens] layout, and of SparseGPT), when `gram: true`;
 *  - absMax: per input channel max |x| (SmoothQuant's activation range, Xiao et al. 2022, eq. 4);
 *  - sumAbs, sumSq: per input channel sum |x| and sum x^2 (AWQ's activation magnitude,
 *    Lin et al. 2023 sec. 3.2; Wanda's ||X_j||_2, Sun et al. 2023 eq. 1).
 * One sequence runs at a time and its reductions are added into float64 accumulators, so
 * memory is bounded by the accumulators, not by the calibration set. Layers that read the
 * same activation (q/k/v, gate/up) share one capture. The probe graph's only outputs are the
 * reductions and everything they do not depend on is removed (logits, cache, later blocks),
 * so capturing one block early in the model runs only the blocks before it.
 *
 *   const stats = await captureActivations(model, selected, ctx.calibration, { gram: true, signal });
 *   stats.get(layer.name) -> { inFeatures, count, gram?, absMax, sumAbs, sumSq }
 */
import { createSession, decoderIo, emptyPastFeeds, tokenFeeds } from '@distillery/eval';
import { dtypeCode, eliminateDeadCode, int64Tensor, type Model, type Node } from '@distillery/onnx';
import { throwIfCanceled } from '../canceled';
import type { CalibrationSet } from '../technique';
import type { SelectedLayer } from './select-linear';

export interface LayerActivationStats {
  inFeatures: number;
  /** Activation rows seen (tokens). */
  count: number;
  /** Row-major [in, in] sum over rows of x x^T; present when captured with `gram: true`. */
  gram?: Float64Array;
  sumAbs: Float64Array;
  sumSq: Float64Array;
  absMax: Float64Array;
}

export interface CaptureOptions {
  gram?: boolean;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

export interface Probe {
  value: string;
  inFeatures: number;
  outputs: { gram?: string; sumAbs: string; sumSq: string; absMax: string; rows: string };
}

const FLOAT = dtypeCode('float32');

/** The model cut down to the reductions of each probed value, its only graph outputs. */
export function probeModel(model: Model, probes: Probe[], gram: boolean): Model {
  const opset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  const nodes: Node[] = [];
  const initializers = [int64Tensor('capture/axis0', [1], [0])];
  const outputs: Model['graph']['outputs'] = [];
  const node = (opType: string, name: string, inputs: string[], out: string, attributes: Node['attributes'] = {}) => {
    nodes.push({ name, opType, domain: '', inputs, outputs: [out], attributes });
    return out;
  };
  for (const [i, p] of probes.entries()) {
    const pre = `capture/${i}`;
    initializers.push(int64Tensor(`${pre}/shape`, [2], [-1, p.inFeatures]));
    const f = node('Cast', `${pre}/Cast`, [p.value], `${pre}/x_float`, { to: { type: 'int', value: FLOAT } });
    const x = node('Reshape', `${pre}/Reshape`, [f, `${pre}/shape`], `${pre}/x`);
    if (gram) node('Gemm', `${pre}/Gemm`, [x, x], p.outputs.gram!, { transA: { type: 'int', value: 1 } });
    node('ReduceSum', `${pre}/SumAbs`, [node('Abs', `${pre}/Abs`, [x], `${pre}/abs`), 'capture/axis0'], p.outputs.sumAbs, { keepdims: { type: 'int', value: 0 } });
    // ReduceMax takes its axes as an input from opset 18, as an attribute before.
    if (opset >= 18) node('ReduceMax', `${pre}/AbsMax`, [`${pre}/abs`, 'capture/axis0'], p.outputs.absMax, { keepdims: { type: 'int', value: 0 } });
    else node('ReduceMax', `${pre}/AbsMax`, [`${pre}/abs`], p.outputs.absMax, { keepdims: { type: 'int', value: 0 }, axes: { type: 'ints', value: [0] } });
    node('ReduceSum', `${pre}/SumSq`, [node('Mul', `${pre}/Square`, [x, x], `${pre}/sq`), 'capture/axis0'], p.outputs.sumSq, { keepdims: { type: 'int', value: 0 } });
    node('Shape', `${pre}/Shape`, [x], p.outputs.rows);
    outputs.push(
      ...(gram ? [{ name: p.outputs.gram!, dtype: 'float32' as const, shape: [p.inFeatures, p.inFeatures] }] : []),
      { name: p.outputs.sumAbs, dtype: 'float32', shape: [p.inFeatures] },
      { name: p.outputs.sumSq, dtype: 'float32', shape: [p.inFeatures] },
      { name: p.outputs.absMax, dtype: 'float32', shape: [p.inFeatures] },
      { name: p.outputs.rows, dtype: 'int64', shape: [2] },
    );
  }
  const g = model.graph;
  const graph = { ...g, nodes: [...g.nodes, ...nodes], initializers: [...g.initializers, ...initializers], outputs };
  eliminateDeadCode(graph);
  return { ...model, graph };
}

export async function captureActivations(model: Model, layers: SelectedLayer[], calibration: CalibrationSet, opts: CaptureOptions = {}): Promise<Map<string, LayerActivationStats>> {
  if (!calibration.sequences.length) throw new Error('captureActivations: the calibration set has no sequences');
  const gram = opts.gram ?? false;
  const byValue = new Map<string, Probe>();
  for (const l of layers) {
    for (const m of l.layer.matmuls) {
      const value = m.inputs[0]!;
      if (byValue.has(value)) continue;
      const i = byValue.size;
      byValue.set(value, {
        value,
        inFeatures: l.layer.inFeatures,
        outputs: { gram: gram ? `capture/${i}/gram` : undefined, sumAbs: `capture/${i}/sum_abs`, sumSq: `capture/${i}/sum_sq`, absMax: `capture/${i}/abs_max`, rows: `capture/${i}/rows` },
      });
    }
  }
  const probes = [...byValue.values()];
  const acc = new Map(probes.map((p) => [p.value, { inFeatures: p.inFeatures, count: 0, gram: gram ? new Float64Array(p.inFeatures * p.inFeatures) : undefined, sumAbs: new Float64Array(p.inFeatures), sumSq: new Float64Array(p.inFeatures), absMax: new Float64Array(p.inFeatures) } as LayerActivationStats]));
  const session = await createSession(probeModel(model, probes, gram));
  try {
    const io = decoderIo(session, new Set(), { checkOutputs: false });
    const noPast = emptyPastFeeds(io, 1);
    const fetches = probes.flatMap((p) => [p.outputs.gram, p.outputs.sumAbs, p.outputs.sumSq, p.outputs.absMax, p.outputs.rows].filter((n): n is string => n !== undefined));
    for (const [s, seq] of calibration.sequences.entries()) {
      throwIfCanceled(opts.signal ?? new AbortController().signal, 'activation capture');
      const out = await session.run({ ...tokenFeeds(io, seq, 1, seq.length), ...noPast }, fetches);
      for (const p of probes) {
        const a = acc.get(p.value)!;
        a.count += Number((out[p.outputs.rows]!.data as BigInt64Array)[0]!);
        const add = (into: Float64Array, name: string) => {
          const d = out[name]!.data as Float32Array;
          for (let i = 0; i < d.length; i++) into[i] += d[i]!;
        };
        if (a.gram) add(a.gram, p.outputs.gram!);
        add(a.sumAbs, p.outputs.sumAbs);
        add(a.sumSq, p.outputs.sumSq);
        const m = out[p.outputs.absMax]!.data as Float32Array;
        for (let i = 0; i < m.length; i++) if (m[i]! > a.absMax[i]!) a.absMax[i] = m[i]!;
      }
      opts.onProgress?.((s + 1) / calibration.sequences.length);
    }
  } finally {
    await session.release();
  }
  // A layer whose weight several MatMuls read sees all of their inputs.
  const result = new Map<string, LayerActivationStats>();
  for (const l of layers) {
    const values = [...new Set(l.layer.matmuls.map((m) => m.inputs[0]!))].map((v) => acc.get(v)!);
    if (values.length === 1) {
      result.set(l.name, values[0]!);
      continue;
    }
    const sum = (pick: (s: LayerActivationStats) => Float64Array | undefined) => {
      const first = pick(values[0]!);
      if (!first) return undefined;
      const out = new Float64Array(first.length);
      for (const v of values) pick(v)!.forEach((x, i) => (out[i] += x));
      return out;
    };
    result.set(l.name, { inFeatures: l.layer.inFeatures, count: values.reduce((c, v) => c + v.count, 0), gram: sum((v) => v.gram), sumAbs: sum((v) => v.sumAbs)!, sumSq: sum((v) => v.sumSq)!, absMax: Float64Array.from(values[0]!.absMax, (_, i) => Math.max(...values.map((v) => v.absMax[i]!))) });
  }
  return result;
}
