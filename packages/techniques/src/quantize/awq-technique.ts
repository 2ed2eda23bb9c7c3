/**
 * quantize.awq: activation-aware scaling then round-to-nearest. Layers reading the same
 * activation (q/k/v, gate/up) form a group whose scales s are searched together
 * (quantize/awq.ts, on their concatenated weights and the captured Gram matrix and mean
 * |x|); rows of their weights are multiplied by s and 1/s goes into the op before them
 * where the graph allows (quantize/input-scaling.ts), else into an explicit Mul. Each scaled
 * weight is then clipped, as AWQ's code does after scaling: per group and output column by
 * the output error over the group's inputs (kit/grid-fit.ts), or per layer (activation-clip.ts).
 */
import { z } from 'zod';
import { tensorToFloat32, type LinearRole, type Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { captureActivations } from '../kit/capture-activations';
import { quantizeWeight, type QuantizedWeight, type QuantSpec } from '../kit/quantizer';
import { rewriteLinear } from '../kit/rewrite-linear';
import { noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import { throwIfCanceled } from '../canceled';
import { awqSearch } from './awq';
import { blockLoss, blockTarget, captureBlockIo } from './awq-block-loss';
import { openModelLoss } from './awq-model-loss';
import { chooseClip } from './activation-clip';
import { fitGroupGridByGram, quantizeWithGrids, shrinkCandidates, type ShrinkForm } from '../kit/grid-fit';
import { InputScaling, inputGroups, type LayerGroup, type ScaleSink } from './input-scaling';
import { specOf, weightQuantParams } from './weight-quant-params';
import { checkMatMulNBitsParams } from './rtn';

const ID = 'quantize.awq';

export const awqParams = z
  .object({
    ...weightQuantParams,
    /** α is searched on 0, 1/n, ..., 1 (the paper: n = 20). */
    gridPoints: z.number().int().min(1).max(100).default(20),
    /**
     * What the scale search minimises: `block`, the output of the attention for q/k/v and of
     * the MLP for gate/up (the authors' code; other groups use their layer output), or
     * `layer`, each group's own layer outputs (from the Gram matrix, exact over all calibration tokens),
     * or `model`, the whole model's KL against the base on calibration text with only that group
     * quantized (awq-model-loss.ts; one forward pass over blockSequences per candidate α).
     */
    objective: z.enum(['block', 'layer', 'model']).default('block'),
    /** Calibration sequences the block and model objectives run on (the layer objective uses all). */
    blockSequences: z.number().int().min(1).default(16),
    /** Fold 1/s into the preceding norm or linear layer where possible; false = always an explicit Mul. */
    fold: z.boolean().default(true),
    /** After scaling, pick each layer's clip ratio by activation-weighted error (AWQ's weight clipping step). */
    clip: z.boolean().default(true),
    /**
     * `group`: a clip per group and output column, the shrink of its range with the least
     * output error over the group's inputs (AWQ's auto_clip, 1 down to 0.55 in steps of
     * 0.05); `layer`: one clip ratio per layer from the input second moments. On ref-base
     * (4-bit g64) KL vs fp32 on test text: group 0.0128, layer 0.0164 (RTN 0.0175).
     */
    clipBy: z.enum(['group', 'layer']).default('group'),
    /**
     * How the group clip shrinks an asymmetric range (kit/grid-fit.ts): `clamp`, the weights
     * clamped to ±f·max|w| as the authors' auto_clip does, or `range`, both ends scaled by f.
     * The same on a symmetric grid. On ref-base 4-bit g64 asymmetric (`npm run bench -- awq
     * --quick`) the share of RTN's perplexity increase recovered: block objective 0.003 with
     * `range`, 0.160 with `clamp`; layer objective 0.054 and 0.166.
     */
    clipShrink: z.enum(['clamp', 'range']).default('clamp'),
    /**
     * Clip q and k too. The authors' auto_clip skips them (their outputs meet in q·kᵀ, which
     * a per-layer output error does not measure) and quantizes them on the min/max grid; the
     * awq bench's full run compares both (`awq layer, q/k unclipped`); clipped by default.
     */
    clipQK: z.boolean().default(true),
  })
  .strict()
  .superRefine((p, ctx) => checkMatMulNBitsParams(p, ctx));

export type AwqParams = z.output<typeof awqParams>;

export async function quantizeAwq(model: Model, params: AwqParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  if (!ctx.calibration?.sequences.length) throw new Error(`${ID} needs calibration data for its activation statistics: give the recipe calibration data (recipe.calibration)`);
  const sel = selectLinearLayers(model, params);
  if (!sel.selected.length) throw noLayerMatched(ID, model, sel);
  const spec = specOf(params);
  const stats = await captureActivations(model, sel.selected, ctx.calibration, { gram: true, signal: ctx.signal, onProgress: (f) => ctx.onProgress(0.2 * f, 'calibration') });
  const groups = inputGroups(sel.selected);
  const scaling = new InputScaling(model, sel.selected, params.fold);
  const alphas: Record<string, number> = {};
  const targets: { group: LayerGroup; target: string }[] = [];
  if (params.objective === 'block') {
    for (const group of groups) {
      const target = blockTarget(group, sel.found);
      if (target) targets.push({ group, target });
    }
  }
  const blockIo = targets.length ? await captureBlockIo(model, targets, ctx.calibration, params.blockSequences) : undefined;
  const modelLoss = params.objective === 'model' ? await openModelLoss(model, sel.selected, ctx.calibration.sequences.slice(0, params.blockSequences)) : undefined;
  try {
    for (const [k, g] of groups.entries()) {
      throwIfCanceled(ctx.signal, ID);
      const s = stats.get(g.layers[0]!.name)!;
      const cols = g.layers.reduce((c, l) => c + l.layer.outFeatures, 0);
      const w = new Float32Array(g.inFeatures * cols);
      let off = 0;
      for (const l of g.layers) {
        const v = tensorToFloat32(l.layer.weight);
        const n = l.layer.outFeatures;
        for (let r = 0; r < g.inFeatures; r++) w.set(v.subarray(r * n, (r + 1) * n), r * cols + off);
        off += n;
      }
      const meanAbs = Float32Array.from(s.sumAbs, (x) => x / s.count);
      const target = targets.find((t) => t.group === g)?.target;
      const block = target ? await blockLoss(model, g, target, blockIo!.get(g.activation)!) : undefined;
      const outputLoss = modelLoss ? (eff: Float32Array) => modelLoss.loss(g, eff) : block?.loss;
      let found;
      try {
        found = await awqSearch(w, g.inFeatures, cols, { gram: Float32Array.from(s.gram!), meanAbs }, { spec, gridPoints: params.gridPoints, layer: g.layers.map((l) => l.name).join(' + '), outputLoss });
      } finally {
        await block?.release();
      }
      for (const l of g.layers) alphas[l.name] = found.alpha;
      if (found.alpha === 0) continue; // s = 1: plain RTN, nothing to move
      scaling.add(g, found.scales);
      ctx.onProgress(0.2 + (0.6 * (k + 1)) / groups.length, `scales for ${g.layers.map((l) => l.name).join(', ')}`);
    }
  } finally {
    await modelLoss?.release();
  }
  const out = await rewriteLinear(scaling.scaledModel(), {
    technique: ID,
    selection: params,
    format: params.format,
    accuracyLevel: params.accuracyLevel,
    ctx: { ...ctx, onProgress: (f, m) => ctx.onProgress(0.8 + 0.2 * f, m) },
    method: async (t) => {
      const v = scaling.scaleWeight(t);
      const rs = scaling.rowScaleOf(t.name);
      const st = stats.get(t.name);
      const skipClip = !params.clipQK && QK_ROLES.has(t.role);
      if (!params.clip || !st || skipClip) return { kind: 'quantized', weight: quantizeWeight(v, t.inFeatures, t.outFeatures, spec, t.name) };
      if (params.clipBy === 'group') return { kind: 'quantized', weight: await clipPerGroup(v, t.inFeatures, t.outFeatures, spec, st.gram!, rs, t.name, params.clipShrink) };
      // E[(x_i / s_i)^2]: the scaled layer's input second moments weight the clip error.
      const importance = Float64Array.from(st.sumSq, (q, i) => q / Math.max(1, st.count) / (rs ? rs[i]! * rs[i]! : 1));
      return { kind: 'quantized', weight: chooseClip(v, t.inFeatures, t.outFeatures, spec, importance, t.name).weight };
    },
  });
  const count = (kind: ScaleSink['kind']) => scaling.count(kind);
  return {
    model: out.model,
    report: {
      ...out.report,
      groups: groups.length,
      groupsScaled: scaling.plans.length,
      blockObjectiveGroups: targets.length,
      foldedIntoNorm: count('norm-weight'),
      foldedIntoLinear: count('linear-output'),
      explicitMul: count('explicit-mul'),
      alphas: JSON.stringify(alphas),
    },
  };
}

const QK_ROLES: ReadonlySet<LinearRole> = new Set(['q', 'k', 'qkv']);

/** AWQ's clip search on the scaled weight diag(s) W, whose inputs x / s have the Gram matrix G_ij / (s_i s_j). */
function clipPerGroup(v: Float32Array, rows: number, cols: number, spec: QuantSpec, gram: Float64Array, rs: Float32Array | undefined, layer: string, form: ShrinkForm): Promise<QuantizedWeight> {
  const shrinks = shrinkCandidates(0.55, 0.05);
  return quantizeWithGrids(
    v,
    rows,
    cols,
    spec,
    (values, r0, n, grid) => {
      const g = new Float32Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] = gram[(r0 + i) * rows + r0 + j]! / (rs ? rs[r0 + i]! * rs[r0 + j]! : 1);
      return fitGroupGridByGram(values, n, cols, grid, shrinks, g, form);
    },
    layer,
  );
}

export const awqTechnique = defineTechnique({
  id: ID,
  family: 'quantize',
  title: 'AWQ (activation-aware weight quantization)',
  description:
    'Scales up the input channels that see large activations before round-to-nearest, with the scale exponent searched ' +
    'per layer group to minimise the output error on calibration data (Lin et al. 2023); the inverse scale is folded ' +
    'into the preceding norm or linear layer where the graph allows. Needs calibration data.',
  params: awqParams,
  apply: quantizeAwq,
});
