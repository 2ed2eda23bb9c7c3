/**
 * quantize.mixed: bits per linear layer chosen from measured sensitivity. Each selected
 * layer is quantized alone to every candidate width and compared with the base on the
 * calibration sequences (sensitivity/layer-sensitivity.ts); the widths that minimise the
 * summed KL under the target stored bits per weight are chosen exactly
 * (quantize/bit-allocation.ts); then every layer is rounded to its width. The sensitivity
 * table and the allocation are stored with the run (the step's report, JSON).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { linearSelectionParams } from '../kit/select-linear';
import { weightQuantParams } from './weight-quant-params';
import { checkMatMulNBitsParams } from './rtn';
import { MATMULNBITS_BITS } from '../kit/formats/matmulnbits';
import { quantizeWeight } from '../kit/quantizer';
import { rewriteLinear } from '../kit/rewrite-linear';
import { measureSensitivity, type SensitivityRow } from '../sensitivity/layer-sensitivity';
import { allocateBits, type LayerCandidates } from './bit-allocation';

const ID = 'quantize.mixed';

export const mixedParams = z
  .object({
    ...linearSelectionParams,
    /** Stored bits per weight over the selected layers, scales and zero points included (3-bit g64 symmetric is 3.5). */
    targetBitsPerWeight: z.number().min(2).max(9),
    /** Widths a layer may get. */
    choices: z
      .array(z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(8)]))
      .min(2)
      .default([2, 3, 4, 8])
      .refine((c) => new Set(c).size === c.length, 'choices must not repeat a width'),
    symmetric: weightQuantParams.symmetric,
    groupSize: weightQuantParams.groupSize,
    format: weightQuantParams.format,
    /** Measure sensitivity on the first n calibration sequences only (each probe re-scores them); default all. */
    sensitivitySequences: z.number().int().min(1).optional(),
    accuracyLevel: weightQuantParams.accuracyLevel,
  })
  .strict()
  .superRefine((p, ctx) => {
    // The first width MatMulNBits cannot run is the one reported.
    const bad = p.choices.find((bits) => !(MATMULNBITS_BITS as readonly number[]).includes(bits));
    checkMatMulNBitsParams({ format: p.format, bits: bad ?? p.choices[0]!, groupSize: p.groupSize }, ctx, ['choices']);
  });

export type MixedParams = z.output<typeof mixedParams>;

function candidates(rows: readonly SensitivityRow[]): LayerCandidates[] {
  const byLayer = new Map<string, LayerCandidates>();
  for (const r of rows) {
    if (r.bits === null || r.bitsPerWeight === null) continue;
    let c = byLayer.get(r.layer);
    if (!c) byLayer.set(r.layer, (c = { layer: r.layer, weights: r.weights, options: [] }));
    c.options.push({ bits: r.bits, kl: r.kl, bitsPerWeight: r.bitsPerWeight });
  }
  return [...byLayer.values()];
}

export async function quantizeMixed(model: Model, params: MixedParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const sequences = ctx.calibration?.sequences;
  if (!sequences?.length) throw new Error(`${ID} measures per-layer sensitivity on calibration text: give the recipe calibration data (recipe.calibration)`);
  const spec = (bits: number) => ({ bits, symmetric: params.symmetric, groupSize: params.groupSize });
  const table = await measureSensitivity(model, sequences.slice(0, params.sensitivitySequences ?? sequences.length), {
    selection: params,
    probes: params.choices.map((bits) => ({ bits })),
    symmetric: params.symmetric,
    groupSize: params.groupSize,
    signal: ctx.signal,
    technique: ID,
    onProgress: (f, m) => ctx.onProgress(0.9 * f, `sensitivity: ${m ?? ''}`),
  });
  const allocation = allocateBits(candidates(table.rows), params.targetBitsPerWeight);
  const rewritten = await rewriteLinear(model, {
    technique: ID,
    selection: params,
    format: params.format,
    accuracyLevel: params.accuracyLevel,
    ctx: { ...ctx, onProgress: (f, m) => ctx.onProgress(0.9 + 0.1 * f, m) },
    method: (t) => {
      const bits = allocation.bits.get(t.name);
      if (bits === undefined) throw new Error(`${ID}: layer ${t.name} has no allocated width`);
      return { kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, spec(bits), t.name) };
    },
  });
  const weightsOf = new Map(candidates(table.rows).map((c) => [c.layer, c.weights]));
  let codeBits = 0;
  let weights = 0;
  for (const [layer, bits] of allocation.bits) {
    codeBits += bits * weightsOf.get(layer)!;
    weights += weightsOf.get(layer)!;
  }
  const histogram = Object.fromEntries(params.choices.map((b) => [b, [...allocation.bits.values()].filter((x) => x === b).length]));
  ctx.log.info(`${ID} allocated widths`, { histogram, predictedKl: allocation.predictedKl });
  return {
    model: rewritten.model,
    report: {
      ...rewritten.report,
      targetBitsPerWeight: params.targetBitsPerWeight,
      /** Mean code width over the rewritten weights, scales not counted. */
      averageBits: Number((codeBits / weights).toFixed(4)),
      predictedKl: allocation.predictedKl,
      calibrationBasePerplexity: table.basePerplexity,
      calibrationTokens: table.tokens,
      ...Object.fromEntries(Object.entries(histogram).map(([b, n]) => [`layersAt${b}Bits`, n])),
      allocation: JSON.stringify(Object.fromEntries(allocation.bits)),
      sensitivity: JSON.stringify(table.rows),
    },
  };
}

export const mixed = defineTechnique({
  id: ID,
  family: 'quantize',
  title: 'Mixed precision from per-layer sensitivity',
  description:
    'Measures how much each linear layer alone changes the model (KL against the base on calibration text) at each ' +
    'candidate width, then picks the widths that minimise the summed KL under a target of stored bits per weight, ' +
    'and rounds each layer to its width. The sensitivity table is stored with the run. Needs calibration data.',
  params: mixedParams,
  apply: quantizeMixed,
});
