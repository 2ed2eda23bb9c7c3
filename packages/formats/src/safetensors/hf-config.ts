/**
 * A Hugging Face `config.json` of the Llama family read into our decoder config: shape,
 * rope theta, norm epsilon, tied embeddings. Llama and Mistral are the same network (Mistral
 * adds sliding-window attention, which equals full attention up to its window); Qwen2 adds
 * biases to the q/k/v projections. Other architectures are refused naming what was found.
 */
import { parseDecoderConfig, type DecoderConfig } from '@distillery/nn';
import { FormatError } from '../format-error';

export interface HfArchitecture {
  readonly config: DecoderConfig;
  /** config.json's model_type. */
  readonly architecture: string;
  readonly warnings: string[];
}

const LLAMA_FAMILY = new Set(['llama', 'mistral', 'qwen2']);

/** Keys whose presence changes the network in ways our decoder does not build. */
function refuseUnsupported(json: Record<string, unknown>, file: string): void {
  const type = json.model_type;
  if (type === 'gpt2') throw new FormatError(file, 'model_type', '"gpt2" (LayerNorm, learned positions, GELU) is not a Llama-family decoder: convertHfFolder builds it with the GPT-2 builder');
  if (typeof type !== 'string' || !LLAMA_FAMILY.has(type)) {
    throw new FormatError(file, 'model_type', `${JSON.stringify(type)} is not supported (supported: ${[...LLAMA_FAMILY].join(', ')})`);
  }
  if (json.attention_bias === true) throw new FormatError(file, 'attention_bias', 'true is not supported: the decoder has no attention biases');
  if (json.mlp_bias === true) throw new FormatError(file, 'mlp_bias', 'true is not supported: the decoder has no MLP biases');
  if (json.rope_scaling !== undefined && json.rope_scaling !== null) throw new FormatError(file, 'rope_scaling', `${JSON.stringify(json.rope_scaling)} is not supported (plain RoPE only)`);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') throw new FormatError(file, 'hidden_act', `${JSON.stringify(act)} is not supported (SwiGLU with silu only)`);
}

const num = (json: Record<string, unknown>, key: string, file: string, fallback?: number): number => {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new FormatError(file, key, `must be a number, got ${JSON.stringify(json[key])}`);
  return value;
};

export function readHfConfig(json: unknown, file: string): HfArchitecture {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FormatError(file, '(config)', 'must be a JSON object');
  const c = json as Record<string, unknown>;
  refuseUnsupported(c, file);
  const warnings: string[] = [];
  const hiddenSize = num(c, 'hidden_size', file);
  const nHeads = num(c, 'num_attention_heads', file);
  const maxPositions = num(c, 'max_position_embeddings', file);
  const window = c.sliding_window;
  // Qwen2 names a window but uses it only with use_sliding_window.
  const windowed = c.model_type !== 'qwen2' || c.use_sliding_window === true;
  if (windowed && typeof window === 'number' && window < maxPositions) {
    warnings.push(`${c.model_type} sliding_window ${window} is below max_position_embeddings ${maxPositions}: the converted model attends to the full context, which equals the original only up to ${window} tokens`);
  }
  const input = {
    arch: 'llama',
    vocabSize: num(c, 'vocab_size', file),
    hiddenSize,
    nLayers: num(c, 'num_hidden_layers', file),
    nHeads,
    nKvHeads: num(c, 'num_key_value_heads', file, nHeads),
    headDim: num(c, 'head_dim', file, hiddenSize / nHeads),
    ffnSize: num(c, 'intermediate_size', file),
    maxPositions,
    ropeTheta: num(c, 'rope_theta', file, 10000),
    // LlamaConfig's default; Mistral's is the same.
    normEps: num(c, 'rms_norm_eps', file, 1e-6),
    tieEmbeddings: typeof c.tie_word_embeddings === 'boolean' ? c.tie_word_embeddings : false,
    ...(c.model_type === 'qwen2' ? { qkvBias: true } : {}),
  };
  try {
    return { config: parseDecoderConfig(input), architecture: c.model_type as string, warnings };
  } catch (error) {
    throw new FormatError(file, '(shape)', (error as Error).message);
  }
}
