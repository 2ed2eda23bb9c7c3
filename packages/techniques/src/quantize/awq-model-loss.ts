/**
 * AWQ's scale search measured on the whole model: KL(base || model) on calibration text
 * with only the searched group's weights replaced by their effective weights
 * diag(s)^-1 Q(diag(s) W), every other layer in float. The paper's objective is the block
 * output (§3.2, awq-block-loss.ts); this one scores each α by what the model's next-token
 * distribution loses, so it shows how much a per-group α of AWQ's form can recover at best.
 * One ORT session serves every candidate: the selected weights are graph inputs
 * (kit/weight-inputs.ts) and the base distribution is scored once.
 */
import { calibrationBase, klWithScorer, openScorer } from '@distillery/eval';
import type { Model, ort } from '@distillery/onnx';
import { targetOf } from '../kit/rewrite-linear';
import type { SelectedLayer } from '../kit/select-linear';
import { weightFeed, weightsAsInputs } from '../kit/weight-inputs';
import { splitGroupWeights } from './awq-block-loss';
import type { LayerGroup } from './input-scaling';

export interface ModelLoss {
  /** Mean KL(base || model) per calibration token with the group's weights set to `effective` ([in, Σ out], side by side). */
  loss(group: LayerGroup, effective: Float32Array): Promise<number>;
  release(): Promise<void>;
}

export async function openModelLoss(model: Model, layers: readonly SelectedLayer[], sequences: readonly ArrayLike<number>[]): Promise<ModelLoss> {
  const base = await calibrationBase(model, sequences);
  const probed = weightsAsInputs(model, layers);
  const baseFeeds: Record<string, ort.Tensor> = Object.fromEntries(probed.inputs.map((w) => [w.input, weightFeed(w, targetOf(w.layer).values)]));
  let feeds = baseFeeds;
  const scorer = await openScorer(probed.model, { withBase: true, inputs: { names: probed.inputs.map((w) => w.input), feeds: () => feeds } });
  return {
    async loss(group, effective) {
      const changed: Record<string, ort.Tensor> = {};
      for (const [i, w] of splitGroupWeights(group, effective).entries()) {
        const input = probed.inputs.find((p) => p.layer === group.layers[i]);
        if (!input) throw new Error(`awq: layer ${group.layers[i]!.name} is not among the layers the model objective was opened with`);
        changed[input.input] = weightFeed(input, w);
      }
      feeds = { ...baseFeeds, ...changed };
      return (await klWithScorer(base, scorer, sequences)).kl;
    },
    release: () => scorer.release(),
  };
}
