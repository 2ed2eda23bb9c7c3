/**
 * Autoregressive generation over an ORT decoder session with the KV cache: the prompt
 * runs once, then one token per step. Greedy, or temperature / top-k sampling from a
 * seeded PRNG so samples are reproducible.
 */
import { logitsAt, runDecoder, type DecoderSession, type DecoderShape } from './decoder-session';
import { createPrng, type Prng } from './prng';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 (default) is greedy argmax. */
  temperature?: number;
  /** Sample only among the k most likely tokens; 0 or undefined means all. */
  topK?: number;
  seed?: number;
  /** Stop after emitting this token. */
  eosTokenId?: number;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Softmax(logits / T) over the top-k logits (ties at the k-th value kept), then one draw. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number | undefined, rng: Prng): number {
  if (!(temperature > 0)) return argmax(logits);
  let ids = Array.from({ length: logits.length }, (_, i) => i);
  if (topK && topK > 0 && topK < ids.length) {
    const sorted = [...ids].sort((a, b) => logits[b]! - logits[a]!);
    const kth = logits[sorted[topK - 1]!]!;
    ids = ids.filter((i) => logits[i]! >= kth);
  }
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, logits[i]!);
  const weights = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = weights.reduce((a, w) => a + w, 0);
  let u = rng.next() * total;
  for (let j = 0; j < ids.length; j++) {
    u -= weights[j]!;
    if (u < 0) return ids[j]!;
  }
  return ids[ids.length - 1]!;
}

/** New tokens after `prompt` (the prompt itself is not repeated). */
export async function generate(session: DecoderSession, c: DecoderShape, prompt: number[], opts: GenerateOptions): Promise<number[]> {
  if (prompt.length === 0) throw new Error('generate needs a non-empty prompt');
  const rng = createPrng(opts.seed ?? 0);
  const out: number[] = [];
  let step = await runDecoder(session, c, { inputIds: [prompt] });
  let length = prompt.length;
  while (out.length < opts.maxNewTokens) {
    const next = sampleToken(logitsAt(step, c, 0, step.seq - 1), opts.temperature ?? 0, opts.topK, rng);
    out.push(next);
    if (next === opts.eosTokenId || out.length >= opts.maxNewTokens || length >= c.maxPositions) break;
    step = await runDecoder(session, c, { inputIds: [[next]], past: step.present });
    length++;
  }
  return out;
}
