/**
 * Writes trained decoder weights back into the quantized model they were read from:
 * quantized layers are rounded again with the training graph's own quantizer (so the
 * integers are the ones the last forward passes trained against) and stored in their
 * original integer type and scale layout; float weights keep their float type. Nodes and
 * names are untouched, so the output has the input's format and byte size.
 */
import { tensorFromNumbers, type Model, type Tensor } from '@distillery/onnx';
import type { WeightQuantization } from '@distillery/nn';
import { quantizeWeight, signedCodes } from '../kit/quantizer';
import type { RecoveryGrid } from './quantization-grid';

export interface RequantizeResult {
  model: Model;
  /** Integers that differ from the input's, over all quantized layers. */
  changedIntegers: number;
}

export function requantizeInPlace(model: Model, weights: ReadonlyMap<string, Float32Array>, quantized: ReadonlyMap<string, WeightQuantization>, grid: RecoveryGrid): RequantizeResult {
  const replaced = new Map<string, Tensor>();
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  let changed = 0;
  for (const [name, w] of weights) {
    const info = quantized.get(name);
    if (!info) {
      const t = byName.get(name);
      if (!t) throw new Error(`requantizeInPlace: the model has no initializer ${name}`);
      replaced.set(name, tensorFromNumbers(name, t.dtype, t.dims, w));
      continue;
    }
    const qt = byName.get(info.quantizedInitializer)!;
    const st = byName.get(info.scaleInitializer)!;
    const [rows, cols] = qt.dims as [number, number];
    const x = quantizeWeight(w, rows, cols, { bits: grid.bits, symmetric: true, groupSize: grid.groupSize, clipRatio: grid.clipRatio }, name);
    const q = signedCodes(x);
    if (x.scales.length !== info.scales.length) throw new Error(`requantizeInPlace: ${name} had ${info.scales.length} scales, the grid gives ${x.scales.length}`);
    for (let i = 0; i < q.length; i++) if (q[i] !== info.q[i]) changed++;
    replaced.set(qt.name, tensorFromNumbers(qt.name, qt.dtype, qt.dims, q));
    replaced.set(st.name, tensorFromNumbers(st.name, st.dtype, st.dims, x.scales));
  }
  const initializers = model.graph.initializers.map((t) => replaced.get(t.name) ?? t);
  return { model: { ...model, graph: { ...model.graph, initializers } }, changedIntegers: changed };
}
