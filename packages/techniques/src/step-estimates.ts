/**
 * Peak memory and time of one step from the model's shape alone, one pure function per
 * kind of work: rewriting weights (quantizers), training a decoder (fine-tuning and
 * distillation) and scoring perplexity. The constants are per-element byte counts of
 * what each kind of work holds at its peak; the test compares them with runs measured
 * on this machine (packages/techniques/test/step-estimates.test.ts).
 */
import { trainStepFlops } from '@distillery/nn';
import { decoderConfigOfShape, type ModelShape, type StepEstimate } from './budget';

const F32 = 4;
/** Bytes of ORT and V8 bookkeeping per session beyond its tensors (arena, graph, kernels). */
const SESSION_OVERHEAD_BYTES = 48 * 2 ** 20;

/**
 * Forward FLOPs of `batch` windows of `seq` tokens: a third of a training step's, whose
 * count (6 per matmul weight per token plus the attention terms) lives with the train
 * bench (packages/nn trainStepFlops; Kaplan et al. 2020, "Scaling Laws for Neural
 * Language Models", sec. 2.1: C_forward = 2N, C_train = 6N).
 */
export function forwardFlops(s: ModelShape, batch: number, seq: number): number {
  return trainStepFlops(decoderConfigOfShape(s), batch, seq) / 3;
}

/** Quantizers and other one-pass weight rewrites: input bytes, its decoded copy, the output and its serialization. */
export function estimateWeightRewrite(s: ModelShape, outputBytesPerParameter: number): StepEstimate {
  const input = s.parameters * s.bytesPerParameter;
  const output = s.parameters * outputBytesPerParameter;
  return {
    // Serialized input + decoded input + float32 of the largest layer + output + its serialization.
    peakBytes: 2 * input + F32 * Math.max(s.hiddenSize * s.ffnSize, s.hiddenSize * s.vocabSize) + 2 * output,
    flops: 0,
    // JS loops over every weight: about 25 ns per weight here.
    fixedSeconds: 0.2 + s.parameters * 25e-9,
    output: { ...s, bytesPerParameter: outputBytesPerParameter },
  };
}

export interface TrainingWork {
  /** The model being trained (the student when distilling). */
  model: ModelShape;
  /** The teacher run alongside it (distillation); its logits join each step. */
  teacher?: ModelShape;
  /** The input model of the step, held while it runs. */
  input: ModelShape;
  batchSize: number;
  seqLen: number;
  steps: number;
  /** Held-out evaluations over the run, each of up to 4,096 tokens. */
  evalPoints: number;
  output: ModelShape;
}

/** Floats one layer keeps per token for the backward pass (projections, norms, SwiGLU, residuals). */
function activationFloatsPerToken(s: ModelShape, seqLen: number): number {
  const kv = s.kvHeads * s.headDim;
  const q = s.heads * s.headDim;
  return s.layers * (10 * s.hiddenSize + 3 * q + 4 * kv + 5 * s.ffnSize + 3 * s.heads * seqLen);
}

/**
 * A training run of the decoder: float32 weights, gradients and AdamW's two moments, the
 * activations the backward pass keeps, and the logits and their gradient (several
 * [tokens, vocab] tensors). FLOPs: the train bench's count per step (trainStepFlops).
 */
export function estimateTraining(w: TrainingWork): StepEstimate {
  const s = w.model;
  const tokens = w.batchSize * w.seqLen;
  const state = F32 * s.parameters * 6; // weights, gradients, m, v, the built graph's copy, the output
  const activations = F32 * tokens * (activationFloatsPerToken(s, w.seqLen) + 6 * s.vocabSize);
  const input = 2 * w.input.parameters * w.input.bytesPerParameter + F32 * w.input.parameters;
  let teacher = 0;
  let teacherFlops = 0;
  if (w.teacher) {
    const t = w.teacher;
    // The teacher session's weights, its logits for the batch, and the softened copy the loss reads.
    teacher = F32 * t.parameters + SESSION_OVERHEAD_BYTES + F32 * tokens * (3 * t.vocabSize + 4 * t.hiddenSize + t.heads * w.seqLen);
    teacherFlops = forwardFlops(t, w.batchSize, w.seqLen) * w.steps;
  }
  const trainFlops = trainStepFlops(decoderConfigOfShape(s), w.batchSize, w.seqLen) * w.steps;
  const evalFlops = w.evalPoints * forwardFlops(s, Math.ceil(4096 / w.seqLen), w.seqLen);
  return {
    peakBytes: state + activations + input + teacher + 2 * SESSION_OVERHEAD_BYTES,
    flops: trainFlops + teacherFlops + evalFlops,
    // Graph building and session creation, then AdamW and clipping in JS: ~12 ns per weight per step.
    fixedSeconds: 1 + w.steps * s.parameters * 12e-9,
    output: w.output,
  };
}

export interface PerplexityWork {
  tokens: number;
  window: number;
  stride: number;
}

/** Sliding-window perplexity: one forward pass of `window` tokens per `stride` tokens scored. */
export function estimatePerplexity(s: ModelShape, p: PerplexityWork): StepEstimate {
  const window = Math.max(1, Math.min(p.window, p.tokens));
  const windows = Math.max(1, Math.ceil(Math.max(0, p.tokens - window) / Math.max(1, p.stride)) + 1);
  return {
    peakBytes: 2 * s.parameters * s.bytesPerParameter + F32 * s.parameters + F32 * window * (3 * s.vocabSize + 8 * s.hiddenSize) + SESSION_OVERHEAD_BYTES,
    flops: forwardFlops(s, windows, window),
    fixedSeconds: 0.5,
    output: s,
  };
}
