/**
 * The Llama-style decoder's configuration: one zod schema shared by the builder, the
 * reference forward, training and inspection, plus presets and the mapping to and from
 * a Hugging Face LlamaConfig `config.json`.
 */
import { z } from 'zod';

const positiveInt = (field: string) =>
  z.number({ error: `${field} must be a number` }).int(`${field} must be an integer`).positive(`${field} must be positive`);

const DecoderConfigBase = z.object({
  arch: z.literal('llama', { error: "arch must be 'llama'" }),
  vocabSize: positiveInt('vocabSize'),
  hiddenSize: positiveInt('hiddenSize'),
  nLayers: positiveInt('nLayers'),
  nHeads: positiveInt('nHeads'),
  nKvHeads: positiveInt('nKvHeads'),
  headDim: positiveInt('headDim'),
  ffnSize: positiveInt('ffnSize'),
  maxPositions: positiveInt('maxPositions'),
  ropeTheta: z.number().positive('ropeTheta must be positive').default(10000),
  normEps: z.number().positive('normEps must be positive').default(1e-5),
  tieEmbeddings: z.boolean({ error: 'tieEmbeddings must be a boolean' }),
  /**
   * Biases on the q/k/v projections (Qwen2; HF LlamaConfig's attention_bias covers o_proj too
   * and is refused). Absent means none, so configs written before it parse unchanged.
   */
  qkvBias: z.boolean().optional(),
});

export const DecoderConfigSchema = DecoderConfigBase.superRefine((c, ctx) => {
  // nHeads * headDim may differ from hiddenSize (HF LlamaConfig's head_dim): head pruning narrows attention only.
  if (c.nHeads % c.nKvHeads !== 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['nKvHeads'],
      message: `nHeads must be a multiple of nKvHeads (${c.nHeads} % ${c.nKvHeads} != 0)`,
    });
  }
  // RoPE rotates pairs (x_i, x_{i+hd/2}), so the head dimension must split in two.
  if (c.headDim % 2 !== 0) {
    ctx.addIssue({ code: 'custom', path: ['headDim'], message: `headDim must be even for RoPE (got ${c.headDim})` });
  }
});

export type DecoderConfig = z.output<typeof DecoderConfigSchema>;
export type DecoderConfigInput = z.input<typeof DecoderConfigSchema>;

/** Validate, throwing one error that names every offending field. */
export function parseDecoderConfig(input: unknown): DecoderConfig {
  const r = DecoderConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
  throw new Error(`invalid decoder config: ${lines.join('; ')}`);
}

/** Number of scalar parameters, counting a tied embedding once. */
export function parameterCount(c: DecoderConfig): number {
  const D = c.hiddenSize;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const perLayer = D + D * q + 2 * D * kv + q * D + D + 3 * D * c.ffnSize + (c.qkvBias ? q + 2 * kv : 0);
  const lmHead = c.tieEmbeddings ? 0 : D * c.vocabSize;
  return c.vocabSize * D + c.nLayers * perLayer + D + lmHead;
}

const PRESET_INPUTS = {
  /** For tests: small enough that the reference forward runs in milliseconds. */
  tiny: {
    arch: 'llama', vocabSize: 96, hiddenSize: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 8,
    ffnSize: 64, maxPositions: 64, tieEmbeddings: false,
  },
  /** The bundled reference model: the 5.3M-parameter shape of the training prototype. */
  'ref-5m': {
    arch: 'llama', vocabSize: 4096, hiddenSize: 256, nLayers: 4, nHeads: 8, nKvHeads: 8, headDim: 32,
    ffnSize: 688, maxPositions: 512, tieEmbeddings: false,
  },
  /** Random-weight model for latency/size benchmarks (~100M parameters, Llama vocabulary size). */
  'bench-100m': {
    arch: 'llama', vocabSize: 32000, hiddenSize: 768, nLayers: 12, nHeads: 12, nKvHeads: 4, headDim: 64,
    ffnSize: 2048, maxPositions: 2048, tieEmbeddings: true,
  },
} as const satisfies Record<string, DecoderConfigInput>;

export type DecoderPresetName = keyof typeof PRESET_INPUTS;
export const DECODER_PRESET_NAMES = Object.keys(PRESET_INPUTS) as DecoderPresetName[];

export function decoderPreset(name: DecoderPresetName, overrides: Partial<DecoderConfigInput> = {}): DecoderConfig {
  const base = PRESET_INPUTS[name];
  if (!base) throw new Error(`unknown decoder preset "${name}" (known: ${DECODER_PRESET_NAMES.join(', ')})`);
  return parseDecoderConfig({ ...base, ...overrides });
}

/** The subset of a Hugging Face LlamaConfig `config.json` that Distillery reads and writes. */
export interface HfLlamaConfig {
  model_type: 'llama';
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  hidden_act: 'silu';
  attention_bias: boolean;
  mlp_bias: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  torch_dtype: 'float32' | 'float16';
  use_cache: boolean;
  [extra: string]: unknown;
}

export interface HfConfigOptions {
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  padTokenId?: number | null;
  torchDtype?: 'float32' | 'float16';
}

export function toHfConfig(c: DecoderConfig, opts: HfConfigOptions = {}): HfLlamaConfig {
  if (c.qkvBias) {
    // Qwen2's config: q/k/v biases are implied by the architecture.
    return { ...toHfConfig({ ...c, qkvBias: undefined }, opts), model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] } as unknown as HfLlamaConfig;
  }
  return {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.ffnSize,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieEmbeddings,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: opts.bosTokenId ?? null,
    eos_token_id: opts.eosTokenId ?? null,
    pad_token_id: opts.padTokenId ?? null,
    torch_dtype: opts.torchDtype ?? 'float32',
    use_cache: true,
  };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** Read a LlamaConfig-style object; fields HF leaves optional get LlamaConfig's defaults (eps 1e-6, untied). */
export function fromHfConfig(json: Record<string, unknown>): DecoderConfig {
  if (json.model_type !== 'llama') throw new Error(`model_type must be "llama" (got ${JSON.stringify(json.model_type)})`);
  if (json.attention_bias === true || json.mlp_bias === true) throw new Error('attention_bias/mlp_bias are not supported');
  if (json.rope_scaling != null) throw new Error('rope_scaling is not supported');
  const hiddenSize = num(json.hidden_size);
  const nHeads = num(json.num_attention_heads);
  return parseDecoderConfig({
    arch: 'llama',
    vocabSize: num(json.vocab_size),
    hiddenSize,
    nLayers: num(json.num_hidden_layers),
    nHeads,
    nKvHeads: num(json.num_key_value_heads) ?? nHeads,
    headDim: num(json.head_dim) ?? (hiddenSize !== undefined && nHeads ? hiddenSize / nHeads : undefined),
    ffnSize: num(json.intermediate_size),
    maxPositions: num(json.max_position_embeddings),
    ropeTheta: num(json.rope_theta) ?? 10000,
    normEps: num(json.rms_norm_eps) ?? 1e-6,
    tieEmbeddings: typeof json.tie_word_embeddings === 'boolean' ? json.tie_word_embeddings : false,
  });
}
