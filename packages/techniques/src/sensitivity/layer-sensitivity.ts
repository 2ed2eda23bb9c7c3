/**
 * Per-layer sensitivity: for each selected linear layer and each probe (b-bit round-to-
 * nearest, or s% magnitude pruning), the model with only that layer changed is compared
 * with the base on calibration sequences: mean KL(base || probe), top-1 agreement and the
 * perplexity change (the one-layer-at-a-time measurement of HAWQ/ZeroQ-style mixed
 * precision, e.g. Dong et al. 2019 "HAWQ", §3, with KL on real text in place of the
 * Hessian spectrum). Mixed precision reads the table; runs store it with their report.
 */
import type { Model } from '@distillery/onnx';
import { z } from 'zod';
import { calibrationBase, klOnCalibration, type CalibrationDivergence } from '@distillery/eval';
import { bitsPerWeight, quantizeWeight } from '../kit/quantizer';
import { rewriteLinear } from '../kit/rewrite-linear';
import { noLayerMatched, selectLinearLayers, type LinearSelectionInput, type SelectedLayer } from '../kit/select-linear';
import type { LinearResult } from '../kit/linear-result';
import { magnitudeMask } from '../prune/magnitude';
import { applyMask } from '../prune/prune-layers';
import { quietContext } from '../technique';
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

function probeResult(l: SelectedLayer, values: Float32Array, probe: SensitivityProbe, opts: SensitivityOptions): { result: LinearResult; bpw: number | null } {
  const { inFeatures: rows, outFeatures: cols } = l.layer;
  if ('bits' in probe) {
    const weight = quantizeWeight(values, rows, cols, { bits: probe.bits, symmetric: opts.symmetric, groupSize: opts.groupSize }, l.name);
    return { result: { kind: 'quantized', weight }, bpw: bitsPerWeight(weight) };
  }
  const mask = magnitudeMask(values, rows, cols, { kind: 'unstructured', sparsity: probe.sparsity }, l.name);
  return { result: { kind: 'dense', values: applyMask(Float32Array.from(values), mask) }, bpw: null };
}

export async function measureSensitivity(model: Model, sequences: readonly ArrayLike<number>[], opts: SensitivityOptions): Promise<SensitivityTable> {
  const technique = opts.technique ?? 'sensitivity';
  if (!opts.probes.length) throw new Error(`${technique}: no probes (bits or sparsity) to measure`);
  const sel = selectLinearLayers(model, opts.selection ?? {});
  if (!sel.selected.length) throw noLayerMatched(technique, model, sel);
  const base = await calibrationBase(model, sequences);
  const rows: SensitivityRow[] = [];
  const total = sel.selected.length * opts.probes.length;
  const ctx = quietContext(opts.signal ? { signal: opts.signal } : {});
  for (const l of sel.selected) {
    for (const probe of opts.probes) {
      throwIfCanceled(ctx.signal, technique);
      let bpw: number | null = null;
      const candidate = await rewriteLinear(model, {
        technique,
        layers: [l],
        format: 'dequantize-linear',
        ctx,
        method: (t) => {
          const p = probeResult(l, t.values, probe, opts);
          bpw = p.bpw;
          return p.result;
        },
      });
      const d = await klOnCalibration(base, candidate.model, sequences, { signal: opts.signal });
      rows.push(sensitivityRow(l.name, l.layer.inFeatures * l.layer.outFeatures, probe, bpw, d));
      opts.onProgress?.(rows.length / total, `${l.name} ${'bits' in probe ? `${probe.bits} bits` : `${probe.sparsity * 100}% pruned`}`);
    }
  }
  return { rows, basePerplexity: Math.exp(base.nll), tokens: sequences.length * (sequences[0]!.length - 1) };
}
