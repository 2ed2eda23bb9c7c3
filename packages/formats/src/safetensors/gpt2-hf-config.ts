/**
 * A Hugging Face GPT2Config `config.json` into our GPT-2 config (toGpt2HfConfig writes one). Variants that change
 * the network in ways the GPT-2 builder does not make (another activation, attention scaled
 * by layer index, untied head) are refused naming the key.
 */
import { parseGpt2Config, type Gpt2Config } from '@distillery/nn';
import { FormatError } from '../format-error';

export function isGpt2Config(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as Record<string, unknown>).model_type === 'gpt2';
}

export function readGpt2HfConfig(json: Record<string, unknown>, file: string): Gpt2Config {
  const num = (key: string, fallback?: number): number => {
    const value = json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new FormatError(file, key, `must be a number, got ${JSON.stringify(json[key])}`);
    return value;
  };
  const act = json.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new') throw new FormatError(file, 'activation_function', `${JSON.stringify(act)} is not supported (gelu_new, the tanh GELU, is)`);
  if (json.scale_attn_by_inverse_layer_idx === true) throw new FormatError(file, 'scale_attn_by_inverse_layer_idx', 'true is not supported');
  if (json.scale_attn_weights === false) throw new FormatError(file, 'scale_attn_weights', 'false is not supported (scores are scaled by 1/sqrt(head size))');
  if (json.tie_word_embeddings === false) throw new FormatError(file, 'tie_word_embeddings', 'false is not supported (GPT-2 ties its head to wte)');
  const hiddenSize = num('n_embd');
  const inner = json.n_inner === null || json.n_inner === undefined ? 4 * hiddenSize : num('n_inner');
  try {
    return parseGpt2Config({
      arch: 'gpt2',
      vocabSize: num('vocab_size'),
      hiddenSize,
      nLayers: num('n_layer'),
      nHeads: num('n_head'),
      ffnSize: inner,
      maxPositions: num('n_positions'),
      normEps: num('layer_norm_epsilon', 1e-5),
    });
  } catch (error) {
    throw new FormatError(file, '(shape)', (error as Error).message);
  }
}
