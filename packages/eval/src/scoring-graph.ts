/**
 * The model plus a scoring head, so ORT (multi-threaded, vectorized) computes per-position
 * figures instead of JavaScript loops over copied-out logits:
 *
 * - `eval_target_logprob` [B, T]: log p(target) = GatherElements(LogSoftmax(logits), targets)
 * - `eval_top_ids` [B, T, k]: TopK of the logits (k = min(5, vocab); ties go to the lower id)
 * - `eval_logprobs` [B, T, V]: the whole log-distribution (fetched only to cache a base model's)
 * - with `withBase`: input `eval_base_logprobs` [B, T, V] and output `eval_kl` [B, T] =
 *   sum_v exp(base_v) (base_v - logprobs_v), KL(base || model) per position
 *
 * Unfetched outputs are never copied out, so a perplexity run moves B*T floats, not B*T*V.
 */
import { attr, getOpsetVersion, int64Tensor, type Model, type Node } from '@distillery/onnx';

export const SCORE = {
  targets: 'eval_targets',
  baseLogprobs: 'eval_base_logprobs',
  targetLogprob: 'eval_target_logprob',
  topIds: 'eval_top_ids',
  logprobs: 'eval_logprobs',
  kl: 'eval_kl',
} as const;

export const TOP_K = 5;

export interface ScoringGraphOptions {
  /** Add the base log-probabilities input and the KL output. */
  withBase?: boolean;
}

const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({
  name,
  opType,
  domain: '',
  inputs,
  outputs,
  attributes,
});

export function scoringGraph(model: Model, opts: ScoringGraphOptions = {}): Model {
  const g = model.graph;
  const logits = g.outputs.find((o) => o.name === 'logits');
  if (!logits) throw new Error(`model has no "logits" output (outputs: ${g.outputs.map((o) => o.name).join(', ')})`);
  if (logits.dtype !== 'float32' && logits.dtype !== 'float16') throw new Error(`the "logits" output is ${logits.dtype}; scoring needs float32 or float16 logits`);
  // Half-precision logits (float16 exports) are scored in float32: log-softmax over a large vocabulary loses too much in half.
  const scored = logits.dtype === 'float16' ? 'eval_logits_float32' : 'logits';
  const opset = getOpsetVersion(model, '') ?? 0;
  // Unsqueeze/Squeeze/ReduceSum take their axes as an input from opset 13 on.
  if (opset < 13) throw new Error(`model imports ONNX opset ${opset}; scoring needs opset 13 or newer`);
  const taken = new Set([...g.inputs, ...g.outputs, ...g.initializers].map((v) => v.name));
  for (const n of Object.values(SCORE)) if (taken.has(n)) throw new Error(`model already has a value named "${n}"`);

  const vocab = logits.shape?.[2];
  const k = typeof vocab === 'number' ? Math.min(TOP_K, vocab) : TOP_K;
  const nodes: Node[] = [
    ...(scored === 'logits' ? [] : [node('/eval/Cast', 'Cast', ['logits'], [scored], { to: attr.int(1) })]),
    node('/eval/LogSoftmax', 'LogSoftmax', [scored], [SCORE.logprobs], { axis: attr.int(-1) }),
    node('/eval/Unsqueeze', 'Unsqueeze', [SCORE.targets, 'eval_axis_last'], ['eval_targets_3d']),
    node('/eval/GatherElements', 'GatherElements', [SCORE.logprobs, 'eval_targets_3d'], ['eval_target_logprob_3d'], { axis: attr.int(-1) }),
    node('/eval/Squeeze', 'Squeeze', ['eval_target_logprob_3d', 'eval_axis_last'], [SCORE.targetLogprob]),
    node('/eval/TopK', 'TopK', [scored, 'eval_k'], ['eval_top_values', SCORE.topIds], { axis: attr.int(-1) }),
  ];
  const dims = ['batch_size', 'sequence_length'];
  const inputs = [...g.inputs, { name: SCORE.targets, dtype: 'int64' as const, shape: dims }];
  const outputs = [
    ...g.outputs,
    { name: SCORE.targetLogprob, dtype: 'float32' as const, shape: dims },
    { name: SCORE.topIds, dtype: 'int64' as const, shape: [...dims, k] },
    { name: SCORE.logprobs, dtype: 'float32' as const, shape: [...dims, vocab ?? 'vocab_size'] },
  ];
  const extraInits = [int64Tensor('eval_axis_last', [1], [-1]), int64Tensor('eval_k', [1], [k])];
  if (opts.withBase) {
    nodes.push(
      node('/eval/kl/Exp', 'Exp', [SCORE.baseLogprobs], ['eval_base_probs']),
      node('/eval/kl/Sub', 'Sub', [SCORE.baseLogprobs, SCORE.logprobs], ['eval_log_ratio']),
      node('/eval/kl/Mul', 'Mul', ['eval_base_probs', 'eval_log_ratio'], ['eval_kl_terms']),
      node('/eval/kl/ReduceSum', 'ReduceSum', ['eval_kl_terms', 'eval_axis_last'], [SCORE.kl], { keepdims: attr.int(0) }),
    );
    // Own symbolic dimensions: a scorer used without a base (task items) feeds [1, 1, 1]
    // here, and ORT never runs the KL nodes unless eval_kl is fetched.
    inputs.push({ name: SCORE.baseLogprobs, dtype: 'float32', shape: ['base_batch', 'base_sequence', 'base_vocab'] });
    outputs.push({ name: SCORE.kl, dtype: 'float32', shape: dims });
  }
  return {
    ...model,
    graph: {
      ...g,
      nodes: [...g.nodes, ...nodes],
      initializers: [...g.initializers, ...extraInits],
      inputs,
      outputs,
    },
  };
}
