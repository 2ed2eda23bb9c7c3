/**
 * GPT-2 (Hugging Face GPT2LMHeadModel): learned positions, pre-LayerNorm blocks with biases,
 * a fused qkv projection, the tanh GELU ("gelu_new") and an LM head tied to the token
 * embedding. Weight names and shapes are the checkpoint's: Conv1D stores [in, out].
 */
import { z } from 'zod';
import { createPrng } from '../decoder/prng';

const positiveInt = (field: string) => z.number({ error: `${field} must be a number` }).int(`${field} must be an integer`).positive(`${field} must be positive`);

export const Gpt2ConfigSchema = z
  .object({
    arch: z.literal('gpt2', { error: "arch must be 'gpt2'" }),
    vocabSize: positiveInt('vocabSize'),
    hiddenSize: positiveInt('hiddenSize'),
    nLayers: positiveInt('nLayers'),
    nHeads: positiveInt('nHeads'),
    ffnSize: positiveInt('ffnSize'),
    maxPositions: positiveInt('maxPositions'),
    normEps: z.number().positive('normEps must be positive').default(1e-5),
  })
  .superRefine((c, ctx) => {
    if (c.hiddenSize % c.nHeads !== 0) ctx.addIssue({ code: 'custom', path: ['nHeads'], message: `hiddenSize ${c.hiddenSize} is not a multiple of nHeads ${c.nHeads}` });
  })
  .transform((c) => ({ ...c, headDim: c.hiddenSize / c.nHeads, nKvHeads: c.nHeads }));

export type Gpt2Config = z.output<typeof Gpt2ConfigSchema>;
export type Gpt2ConfigInput = z.input<typeof Gpt2ConfigSchema>;

export function parseGpt2Config(input: unknown): Gpt2Config {
  const r = Gpt2ConfigSchema.safeParse(input);
  if (r.success) return r.data;
  throw new Error(`invalid GPT-2 config: ${r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ')}`);
}

/** Weights by checkpoint name, [in, out] for Conv1D, row-major float32. */
export type Gpt2Weights = Map<string, Float32Array>;

/** `transformer.h.3`: the checkpoint name prefix of block i. */
export const gpt2BlockPrefix = (i: number): string => `transformer.h.${i}`;

/** Number of scalar parameters (the LM head is tied to wte and counted once). */
export function gpt2ParameterCount(c: Gpt2Config): number {
  let n = 0;
  for (const shape of gpt2WeightShapes(c).values()) n += shape.reduce((a, d) => a * d, 1);
  return n;
}

/** Every weight of the model with its checkpoint shape, in checkpoint order. */
export function gpt2WeightShapes(c: Gpt2Config): Map<string, number[]> {
  const D = c.hiddenSize;
  const shapes = new Map<string, number[]>([
    ['transformer.wte.weight', [c.vocabSize, D]],
    ['transformer.wpe.weight', [c.maxPositions, D]],
  ]);
  for (let i = 0; i < c.nLayers; i++) {
    const p = gpt2BlockPrefix(i);
    shapes.set(`${p}.ln_1.weight`, [D]).set(`${p}.ln_1.bias`, [D]);
    shapes.set(`${p}.attn.c_attn.weight`, [D, 3 * D]).set(`${p}.attn.c_attn.bias`, [3 * D]);
    shapes.set(`${p}.attn.c_proj.weight`, [D, D]).set(`${p}.attn.c_proj.bias`, [D]);
    shapes.set(`${p}.ln_2.weight`, [D]).set(`${p}.ln_2.bias`, [D]);
    shapes.set(`${p}.mlp.c_fc.weight`, [D, c.ffnSize]).set(`${p}.mlp.c_fc.bias`, [c.ffnSize]);
    shapes.set(`${p}.mlp.c_proj.weight`, [c.ffnSize, D]).set(`${p}.mlp.c_proj.bias`, [D]);
  }
  shapes.set('transformer.ln_f.weight', [D]).set('transformer.ln_f.bias', [D]);
  return shapes;
}

/** Throws naming the first missing or mis-sized weight. */
export function checkGpt2Weights(c: Gpt2Config, w: ReadonlyMap<string, ArrayLike<number>>): void {
  for (const [name, shape] of gpt2WeightShapes(c)) {
    const t = w.get(name);
    const n = shape.reduce((a, d) => a * d, 1);
    if (!t) throw new Error(`GPT-2 weight ${name} is missing`);
    if (t.length !== n) throw new Error(`GPT-2 weight ${name} has ${t.length} values, expected [${shape.join(', ')}] = ${n}`);
  }
}

/** Seeded weights for tests and fixtures: normal(0, std) everywhere, LayerNorm gains 1 plus noise. */
export function initGpt2Weights(c: Gpt2Config, seed: number, std = 0.2): Gpt2Weights {
  const rng = createPrng(seed);
  const w: Gpt2Weights = new Map();
  for (const [name, shape] of gpt2WeightShapes(c)) {
    const v = Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.normal() * std);
    if (/ln_\w+\.weight$/.test(name)) for (let k = 0; k < v.length; k++) v[k] = 1 + v[k]! / 2;
    w.set(name, v);
  }
  return w;
}

/** The config.json transformers (and transformers.js) read for this model. */
export function toGpt2HfConfig(c: Gpt2Config, ids: { bosTokenId?: number | null; eosTokenId?: number | null; torchDtype?: string } = {}): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_embd: c.hiddenSize,
    n_layer: c.nLayers,
    n_head: c.nHeads,
    n_inner: c.ffnSize,
    n_positions: c.maxPositions,
    n_ctx: c.maxPositions,
    layer_norm_epsilon: c.normEps,
    activation_function: 'gelu_new',
    tie_word_embeddings: true,
    bos_token_id: ids.bosTokenId ?? null,
    eos_token_id: ids.eosTokenId ?? null,
    torch_dtype: ids.torchDtype ?? 'float32',
  };
}
