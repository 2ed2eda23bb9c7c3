/**
 * Seeded, resumable batch streams. All randomness comes from one xoshiro128** generator whose
 * state is the cursor, so restoring a cursor replays the same batches bitwise.
 */
import { createRng, type Rng, type RngState } from './rng';
import type { BatchSource, JsonValue } from './types';

/** A [batchSize, seqLen] window batch, row-major; targets are inputs shifted by one token. */
export interface TokenBatch {
  inputIds: Int32Array;
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

interface SeededCursor {
  rng: RngState;
  drawn: number;
}

function parseCursor(c: JsonValue): SeededCursor {
  if (c && typeof c === 'object' && !Array.isArray(c) && Array.isArray(c.rng) && typeof c.drawn === 'number') {
    return { rng: c.rng as RngState, drawn: c.drawn };
  }
  throw new Error(`invalid batch cursor ${JSON.stringify(c)}: expected { rng: [4 x uint32], drawn }`);
}

/** Any batch stream whose randomness is drawn from the given RNG, e.g. rows of a regression set. */
export function seededBatches<B>(seed: number, draw: (rng: Rng) => B): BatchSource<B> & { drawn(): number } {
  const rng = createRng(seed);
  let drawn = 0;
  return {
    next() {
      drawn++;
      return draw(rng);
    },
    cursor: () => ({ rng: rng.state(), drawn }),
    restore(c) {
      const parsed = parseCursor(c);
      rng.setState(parsed.rng);
      drawn = parsed.drawn;
    },
    drawn: () => drawn,
  };
}

export interface TokenBatchOptions {
  tokens: Int32Array;
  batchSize: number;
  seqLen: number;
  seed: number;
}

/** Windows of seqLen + 1 tokens at uniform random offsets (with replacement) in the stream. */
export function tokenBatches(opts: TokenBatchOptions): BatchSource<TokenBatch> & { drawn(): number } {
  const { tokens, batchSize, seqLen, seed } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`tokenBatches: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`tokenBatches: seqLen must be a positive integer, got ${seqLen}`);
  if (tokens.length < seqLen + 1) throw new Error(`tokenBatches: ${tokens.length} tokens cannot fill a window of ${seqLen} + 1`);
  const starts = tokens.length - seqLen; // offsets 0 .. N - T - 1 keep the last target inside
  return seededBatches(seed, (rng) => {
    const inputIds = new Int32Array(batchSize * seqLen);
    const targets = new Int32Array(batchSize * seqLen);
    for (let b = 0; b < batchSize; b++) {
      const s = rng.nextInt(starts);
      inputIds.set(tokens.subarray(s, s + seqLen), b * seqLen);
      targets.set(tokens.subarray(s + 1, s + seqLen + 1), b * seqLen);
    }
    return { inputIds, targets, batchSize, seqLen };
  });
}
