/**
 * One ONNX graph computing a Llama-style decoder's training loss and its gradients with
 * respect to every trainable parameter, so one `session.run` is one training step.
 * Parameters are graph inputs (zero-copy in ORT) and gradients graph outputs named
 * `grad.<param>`. The forward math is the decoder's exactly (pre-norm RMSNorm, RoPE in
 * the rotate_half layout, GQA, SwiGLU), so trained weights drop into buildDecoder.
 */
import type { Model } from '@distillery/onnx';
import type { DecoderConfig } from '../decoder/config';
import { decoderWeightShapes } from '../decoder/weights';
import { decoderForward } from './decoder-forward';
import { crossEntropy, targetMask } from './ops/cross-entropy';
import { add, mul } from './ops/elementwise';
import { fakeQuantize, type FakeQuantOptions } from './ops/fake-quant';
import { klDivergence, type KlDirection } from './ops/kl-divergence';
import { matmul } from './ops/matmul';
import { mse } from './ops/mse';
import { reshape } from './ops/shape-ops';
import { dimProduct, type SymDim } from './shape';
import { Tracer, type FloatDType, type Value } from './tracer';

export interface KdLoss {
  /** Weight of the distillation term; the cross-entropy term gets 1 - alpha. */
  alpha: number;
  temperature: number;
  direction: KlDirection;
}

export type TrainingLoss = 'ce' | { kd: KdLoss };

export interface HiddenMseOptions {
  /** Student block index -> teacher hidden-state index (fed as `teacher_hidden.<j>`). */
  layerMap: ReadonlyArray<readonly [number, number]> | Readonly<Record<number, number>>;
  /** Learn a [hiddenSize, teacherHiddenSize] map `distill.hidden_proj.<i>.weight` per student block. */
  projection: boolean;
  /** Default: the student's hiddenSize (required to differ only with projection). */
  teacherHiddenSize?: number;
  /** Weight of the mean hidden-state MSE added to the loss (default 1). */
  weight?: number;
}

export interface TrainingGraphOptions {
  loss: TrainingLoss;
  hiddenMse?: HiddenMseOptions;
  /** Parameters fed as inputs but not trained (no gradient output). */
  frozen?: string[];
  /** Default: symbolic `batch_size`. */
  batchSize?: number;
  /** Default: config.maxPositions. */
  seqLen?: number;
  dtype?: FloatDType;
  /** Also output `logits` [batch, seq, vocab]. */
  logits?: boolean;
  /**
   * Quantization-aware training: the forward pass reads fake-quantized copies of the
   * weights `include` selects (default: the seven projections of every block); parameters
   * and their gradients stay float (straight-through estimator, see ops/fake-quant.ts).
   */
  fakeQuant?: FakeQuantOptions & { include?: (name: string) => boolean };
  /**
   * Low-rank adapters (LoRA, Hu et al. 2021, sec. 4.1): each weight `include` selects reads
   * W + (alpha / rank) A B in the forward pass, with A [in, rank] and B [rank, out] new
   * parameters named by loraParamNames. W itself is usually frozen (QLoRA, Dettmers et al.
   * 2023, sec. 3: a frozen quantized base, only adapters trained).
   */
  lora?: LoraOptions;
}

export interface LoraOptions {
  rank: number;
  alpha: number;
  include: (name: string) => boolean;
}

/** The adapter parameters of weight `name`: A [in, rank], B [rank, out]. */
export const loraParamNames = (name: string): { a: string; b: string } => ({ a: `${name}.lora_A`, b: `${name}.lora_B` });

/** q/k/v/o and gate/up/down projection weights: the linear layers weight-only quantizers rewrite. */
export const isBlockLinearWeight = (name: string): boolean => /\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/.test(name);

export interface TrainingGraph {
  model: Model;
  config: DecoderConfig;
  dtype: FloatDType;
  batchSize: number | undefined;
  seqLen: number;
  /** Trainable parameters, in input order; each has output `grad.<name>`. */
  paramNames: string[];
  frozenNames: string[];
  /** Shapes of all parameter inputs (trainable, frozen, projections). */
  paramShapes: Map<string, number[]>;
  /** All graph inputs in order: parameters, input_ids, targets, teacher inputs. */
  inputNames: string[];
  /** 'loss', the loss terms ('loss.ce', 'loss.kd', 'loss.hidden'), grad.*, and 'logits' if asked. */
  outputs: string[];
  /** Teacher hidden-state inputs in layerMap order, with their student block. */
  teacherHidden: { input: string; studentLayer: number; teacherLayer: number }[];
}

export const hiddenProjectionName = (studentLayer: number): string => `distill.hidden_proj.${studentLayer}.weight`;
export const gradName = (param: string): string => `grad.${param}`;

function pairs(map: HiddenMseOptions['layerMap']): [number, number][] {
  if (Array.isArray(map)) return map.map(([s, t]) => [s, t]);
  return Object.entries(map as Record<string, number>).map(([s, t]) => [Number(s), t]);
}

export function buildTrainingGraph(config: DecoderConfig, opts: TrainingGraphOptions): TrainingGraph {
  const c = config;
  const dtype = opts.dtype ?? 'float32';
  const t = new Tracer({ dtype, name: 'decoder_training' });
  const B: SymDim = opts.batchSize ?? 'batch_size';
  const T = opts.seqLen ?? c.maxPositions;
  if (T > c.maxPositions) throw new Error(`seqLen ${T} exceeds maxPositions ${c.maxPositions}`);
  const N = dimProduct([B, T]);
  const { hiddenSize: D, vocabSize: V } = c;

  if (c.qkvBias) throw new Error('the training graph has no q/k/v biases (Qwen2-style models): training, distillation and QAT cannot run on this model');
  const shapes = decoderWeightShapes(c);
  const hiddenPairs = opts.hiddenMse ? pairs(opts.hiddenMse.layerMap) : [];
  const Dt = opts.hiddenMse?.teacherHiddenSize ?? D;
  if (opts.hiddenMse && !opts.hiddenMse.projection && Dt !== D) throw new Error('hiddenMse without projection needs teacherHiddenSize == hiddenSize');
  for (const [s] of hiddenPairs) {
    if (s < 0 || s >= c.nLayers) throw new Error(`hiddenMse layerMap: student layer ${s} out of range`);
    if (opts.hiddenMse!.projection && !shapes.has(hiddenProjectionName(s))) shapes.set(hiddenProjectionName(s), [D, Dt]);
  }
  const lora = opts.lora;
  if (lora) {
    if (!Number.isInteger(lora.rank) || lora.rank < 1) throw new Error(`lora rank must be a positive integer, got ${lora.rank}`);
    for (const [name, shape] of [...shapes]) {
      if (!lora.include(name)) continue;
      if (shape.length !== 2) throw new Error(`lora: ${name} is not a matrix`);
      const { a, b } = loraParamNames(name);
      shapes.set(a, [shape[0]!, lora.rank]);
      shapes.set(b, [lora.rank, shape[1]!]);
    }
  }
  const frozen = new Set(opts.frozen ?? []);
  for (const f of frozen) if (!shapes.has(f)) throw new Error(`frozen parameter ${f} is not a parameter of this model`);

  const params = new Map<string, Value>();
  for (const [name, shape] of shapes) params.set(name, t.input(name, shape));
  const p = (name: string): Value => params.get(name)!;
  const ids = t.input('input_ids', [B, T], 'int64');
  const targets = t.input('targets', [B, T], 'int64');
  const teacherLogits = typeof opts.loss === 'object' ? t.input('teacher_logits', [B, T, V]) : undefined;
  const teacherHidden = hiddenPairs.map(([s, j]) => ({ input: `teacher_hidden.${j}`, studentLayer: s, teacherLayer: j }));
  const teacherHiddenValues = teacherHidden.map((h) => t.input(h.input, [B, T, Dt]));

  const fq = opts.fakeQuant;
  const quantized = new Map<string, Value>();
  const baseParam = !fq
    ? p
    : (name: string): Value => {
        if (!(fq.include ?? isBlockLinearWeight)(name)) return p(name);
        let v = quantized.get(name);
        if (!v) quantized.set(name, (v = fakeQuantize(p(name), fq)));
        return v;
      };
  // W + s A B as one weight: the same product as x W + s (x A) B, and the low-rank term costs one small MatMul per layer.
  const adapted = new Map<string, Value>();
  const forwardParam = !lora
    ? baseParam
    : (name: string): Value => {
        if (!lora.include(name)) return baseParam(name);
        let v = adapted.get(name);
        if (!v) {
          const { a, b } = loraParamNames(name);
          adapted.set(name, (v = add(baseParam(name), mul(matmul(p(a), p(b)), lora.alpha / lora.rank))));
        }
        return v;
      };
  const { logits, blockOutputs } = decoderForward(t, c, forwardParam, ids, B, T);

  const targetsFlat = reshape(targets, [N]);
  const tm = targetMask(targetsFlat);
  const ce = crossEntropy(logits, targetsFlat, tm);
  const terms: [string, Value][] = [['loss.ce', ce]];
  let loss: Value;
  if (typeof opts.loss === 'object') {
    const { alpha, temperature, direction } = opts.loss.kd;
    if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1)) throw new Error(`kd needs temperature > 0 and alpha in [0, 1] (got ${temperature}, ${alpha})`);
    const kd = klDivergence(logits, reshape(teacherLogits!, [N, V]), tm, { temperature, direction });
    terms.push(['loss.kd', kd]);
    loss = alpha === 1 ? kd : alpha === 0 ? ce : add(mul(kd, alpha), mul(ce, 1 - alpha));
  } else {
    loss = ce;
  }
  if (opts.hiddenMse && hiddenPairs.length) {
    let sum: Value | undefined;
    teacherHidden.forEach((th, i) => {
      const hs = blockOutputs[th.studentLayer]!;
      const student = opts.hiddenMse!.projection ? matmul(hs, p(hiddenProjectionName(th.studentLayer))) : hs;
      const term = mse(student, reshape(teacherHiddenValues[i]!, [N, Dt]));
      sum = sum ? add(sum, term) : term;
    });
    const hidden = mul(sum!, 1 / hiddenPairs.length);
    terms.push(['loss.hidden', hidden]);
    loss = add(loss, mul(hidden, opts.hiddenMse.weight ?? 1));
  }

  const paramNames = [...shapes.keys()].filter((n) => !frozen.has(n));
  const grads = t.gradients(loss, paramNames.map(p));
  const outputs = [t.output(loss, 'loss')];
  for (const [name, v] of terms) outputs.push(t.output(v, name));
  paramNames.forEach((n, i) => outputs.push(t.output(grads[i]!, gradName(n))));
  if (opts.logits) outputs.push(t.output(reshape(logits, [B, T, V]), 'logits'));

  return {
    model: t.toModel({ 'distillery.kind': 'training-graph', 'distillery.loss': JSON.stringify(opts.loss) }),
    config: c,
    dtype,
    batchSize: opts.batchSize,
    seqLen: T,
    paramNames,
    frozenNames: [...shapes.keys()].filter((n) => frozen.has(n)),
    paramShapes: shapes,
    inputNames: t.builder.graph.inputs.map((i) => i.name),
    outputs,
    teacherHidden,
  };
}
