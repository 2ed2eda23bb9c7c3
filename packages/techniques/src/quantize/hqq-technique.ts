/**
 * quantize.hqq: calibration-free half-quadratic quantization (Badri & Shaji 2023; numerics in
 * quantize/hqq.ts) of every selected linear layer: min/max scales, zero points optimised
 * for the lp error of the weights, written as MatMulNBits with real-valued zero points
 * (zero_points in A's type), as ONNX Runtime's own HQQ quantizer writes them.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams, noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import type { QuantizedWeight } from '../kit/quantizer';
import { hqq, type HqqResult } from './hqq';
import { rtnParams } from './rtn';

const ID = 'quantize.hqq';

export const HQQ_BITS = [2, 4] as const;

export const hqqParams = z
  .object({
    ...linearSelectionParams,
    /** ORT 1.30's CPU MatMulNBits takes real-valued zero points at 2 and 4 bits only (8: "Only 2b and 4b ... unpacked compute"). */
    bits: z.number().int().refine((b) => (HQQ_BITS as readonly number[]).includes(b), { message: `bits must be ${HQQ_BITS.join(' or ')}: onnxruntime 1.30 runs MatMulNBits with real-valued zero points only there` }).default(4),
    /** Input rows per scale and zero point; a power of two >= 16 (MatMulNBits' block_size). */
    groupSize: z.number().int().refine((g) => g >= 16 && (g & (g - 1)) === 0, { message: 'groupSize must be a power of two >= 16 (MatMulNBits block_size)' }).default(64),
    accuracyLevel: rtnParams.shape.accuracyLevel,
    /** p of the lp error (p < 1 is robust to the heavy tails of weights); the paper's and ORT's 0.7. */
    lpNorm: z.number().gt(0).max(1).default(0.7),
    beta: z.number().positive().default(10),
    kappa: z.number().min(1).default(1.01),
    iterations: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

export type HqqParams = z.output<typeof hqqParams>;

/** HQQ's grid as the kit's quantized weight: `floatZeros` carries the real zero points; `zeros` holds them rounded. */
export function hqqWeight(r: HqqResult): QuantizedWeight {
  const qmax = 2 ** r.bits - 1;
  const zeros = Uint8Array.from(r.zeros, (z) => Math.min(qmax, Math.max(0, Math.round(z))));
  return { rows: r.rows, cols: r.cols, bits: r.bits, symmetric: false, groupSize: r.groupSize, codes: r.codes, scales: r.scales, zeros, floatZeros: r.zeros };
}

export async function quantizeHqq(model: Model, params: HqqParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const sel = selectLinearLayers(model, params);
  if (!sel.selected.length) throw noLayerMatched(ID, model, sel);
  let before = 0;
  let after = 0;
  let iterations = 0;
  const out = await rewriteLinear(model, {
    technique: ID,
    layers: sel.selected,
    format: 'matmulnbits',
    accuracyLevel: params.accuracyLevel,
    ctx,
    method: (t) => {
      const r = hqq(t.values, t.inFeatures, t.outFeatures, {
        spec: { bits: params.bits, symmetric: false, groupSize: params.groupSize },
        lpNorm: params.lpNorm,
        beta: params.beta,
        kappa: params.kappa,
        iterations: params.iterations,
        layer: t.name,
      });
      before += r.initialError;
      after += r.error;
      iterations += r.iterations;
      return { kind: 'quantized', weight: hqqWeight(r) };
    },
  });
  const n = out.layers.length;
  return {
    model: out.model,
    report: {
      ...out.report,
      layersSkipped: sel.skipped.length,
      skippedLayers: sel.skipped.map((s) => s.name).join(','),
      bits: params.bits,
      groupSize: params.groupSize,
      format: 'matmulnbits',
      /** Mean |W - Ŵ| per layer on the min/max grid with integer zero points, and after HQQ. */
      meanAbsErrorRtn: before / n,
      meanAbsErrorHqq: after / n,
      meanIterations: iterations / n,
    },
  };
}

export const hqqTechnique = defineTechnique({
  id: ID,
  family: 'quantize',
  title: 'HQQ (half-quadratic, calibration-free)',
  description:
    'Quantizes linear-layer weights with min/max scales and zero points optimised for a robust lp error of the weights by ' +
    'half-quadratic splitting (Badri & Shaji 2023), without calibration data; stored as MatMulNBits with real-valued zero points.',
  params: hqqParams,
  apply: quantizeHqq,
});
