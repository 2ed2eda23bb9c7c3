/**
 * Per-layer sensitivity: for each selected linear layer and each probe (b-bit round-to-
 * nearest, or s% magnitude pruning), the model with only that layer changed is compared
 * with the base on calibration sequences: mean KL(base || probe), top-1 agreement and the
 * perplexity change (the one-layer-at-a-time measurement of HAWQ/ZeroQ-style mixed
 * precision, e.g. Dong et al. 2019 "HAWQ", §3, with KL on real text in place of the
 * Hessian spectrum). Mixed precision reads the table; runs store it with their report.
 * All probes share one ORT session whose selected weights are graph inputs
 * (kit/weight-inputs.ts): a probe feeds the base weights with its layer's changed
 * (dequantized or masked) values, and the base's distribution is scored once.
 */
import type { Model } from '@distillery/onnx';
import { z } from 'zod';
import { calibrationBase, klWithScorer, openScorer, type CalibrationDivergence } from '@distillery/eval';
import type { ort } from '@distillery/onnx';
import { bitsPerWeight, dequantizeWeight, quantizeWeight } from '../kit/quantizer';
import { checkFinite, targetOf } from '../kit/rewrite-linear';
import { weightFeed, weightsAsInputs } from '../kit/weight-inputs';
import { noLayerMatched, selectLinearLayers, type LinearSelectionInput, type SelectedLayer } from '../kit/select-linear';
import { magnitudeMask } from '../prune/magnitude';
import { applyMask } from '../prune/prune-layers';
import { throwIfCanceled } from '../canceled';

export type SensitivityProbe = { bits: number } | { sparsity: number };

export interface SensitivityOptions {
  selection?: LinearSelectionInput;
  probes: SensitivityProbe[];
  /** Grid of the bit probes. */
  symmetric: boolean;
  groupSize?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message?: string) => void;
  /** Names the caller in errors. */
  technique?: string;
}

export interface SensitivityRow {
  layer: string;
  weights: number;
  bits: number | null;
  sparsity: number | null;
  /** Stored bits per weight of this layer under the probe (scales included); null for pruning. */
  bitsPerWeight: number | null;
  kl: number;
  top1: number;
  /** Perplexity on the calibration tokens with the probe minus the base's. */
  pplDelta: number;
}

/**
 * A row as stored in Run.evaluation.sensitivity and read back: JSON turns a non-finite
 * figure (a probe that wrecked the model) into null, so the measurements may be null.
 */
export const StoredSensitivityRowSchema = z.object({
  layer: z.string(),
  weights: z.number(),
  bits: z.number().int().nullable(),
  sparsity: z.number().nullable(),
  bitsPerWeight: z.number().nullable(),
  kl: z.number().nullable(),
  top1: z.number().nullable(),
  pplDelta: z.number().nullable(),
});
export type StoredSensitivityRow = z.output<typeof StoredSensitivityRowSchema>;

export interface SensitivityTable {
  rows: SensitivityRow[];
  basePerplexity: number;
  tokens: number;
}

/** One table row from a probe's divergence (pure). */
export function sensitivityRow(layer: string, weights: number, probe: SensitivityProbe, bpw: number | null, d: CalibrationDivergence): SensitivityRow {
  return {
    layer,
    weights,
    bits: 'bits' in probe ? probe.bits : null,
    sparsity: 'sparsity' in probe ? probe.sparsity : null,
    bitsPerWeight: bpw,
    kl: d.kl,
    top1: d.top1,
    pplDelta: Math.exp(d.nll) - Math.exp(d.baseNll),
  };
}

/** The layer's weight under the probe, as the float values the model computes with. */
function probeValues(l: SelectedLayer, values: Float32Array, probe: SensitivityProbe, opts: SensitivityOptions): { values: Float32Array; bpw: number | null } {
  const { inFeatures: rows, outFeatures: cols } = l.layer;
  if ('bits' in probe) {
    const weight = quantizeWeight(values, rows, cols, { bits: probe.bits, symmetric: opts.symmetric, groupSize: opts.groupSize }, l.name);
    return { values: dequantizeWeight(weight), bpw: bitsPerWeight(weight) };
  }
  const mask = magnitudeMask(values, rows, cols, { kind: 'unstructured', sparsity: probe.sparsity }, l.name);
  return { values: applyMask(Float32Array.from(values), mask), bpw: null };
}

export async function measureSensitivity(model: Model, sequences: readonly ArrayLike<number>[], opts: SensitivityOptions): Promise<SensitivityTable> {
  const technique = opts.technique ?? 'sensitivity';
  if (!opts.probes.length) throw new Error(`${technique}: no probes (bits or sparsity) to measure`);
  const sel = selectLinearLayers(model, opts.selection ?? {});
  if (!sel.selected.length) throw noLayerMatched(technique, model, sel);
  const targets = sel.selected.map((l) => targetOf(l));
  for (const t of targets) checkFinite(technique, t);
  const base = await calibrationBase(model, sequences);
  const probed = weightsAsInputs(model, sel.selected);
  const baseFeeds: Record<string, ort.Tensor> = Object.fromEntries(probed.inputs.map((w, i) => [w.input, weightFeed(w, targets[i]!.values)]));
  let feeds = baseFeeds;
  const scorer = await openScorer(probed.model, { withBase: true, inputs: { names: probed.inputs.map((w) => w.input), feeds: () => feeds } });
  const rows: SensitivityRow[] = [];
  const total = sel.selected.length * opts.probes.length;
  const signal = opts.signal ?? new AbortController().signal;
  try {
    for (const [i, l] of sel.selected.entries()) {
      const w = probed.inputs[i]!;
      for (const probe of opts.probes) {
        throwIfCanceled(signal, technique);
        const p = probeValues(l, targets[i]!.values, probe, opts);
        feeds = { ...baseFeeds, [w.input]: weightFeed(w, p.values) };
        const d = await klWithScorer(base, scorer, sequences, { signal: opts.signal });
        rows.push(sensitivityRow(l.name, l.layer.inFeatures * l.layer.outFeatures, probe, p.bpw, d));
        opts.onProgress?.(rows.length / total, `${l.name} ${'bits' in probe ? `${probe.bits} bits` : `${probe.sparsity * 100}% pruned`}`);
      }
    }
  } finally {
    await scorer.release();
  }
  return { rows, basePerplexity: Math.exp(base.nll), tokens: sequences.length * (sequences[0]!.length - 1) };
}
