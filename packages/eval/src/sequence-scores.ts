/**
 * Scores independent token sequences (task items, not a stream): each sequence is run
 * from position 0, sequences of equal length share an ORT call. Returns per position the
 * log-probability of the next token of the sequence and the model's top-1 id there.
 */
import { CanceledError } from '@distillery/onnx';
import { checkTokenIds } from './token-scan';
import type { WindowScorer } from './window-scorer';

export interface SequenceScores {
  /** [n]: entry t is log p(seq[t + 1] | seq[..t]); the last entry is meaningless. */
  targetLogprob: Float32Array;
  /** [n]: the model's most likely next token after seq[..t]. */
  top1: Int32Array;
}

export async function scoreSequences(
  scorer: WindowScorer,
  sequences: readonly ArrayLike<number>[],
  opts: { batch?: number; signal?: AbortSignal; onProgress?: (fraction: number) => void } = {},
): Promise<SequenceScores[]> {
  const batch = opts.batch ?? 8;
  const byLength = new Map<number, number[]>();
  sequences.forEach((s, i) => {
    if (s.length < 1) throw new Error(`sequence ${i} is empty`);
    checkTokenIds(s, scorer.vocabSize);
    const list = byLength.get(s.length);
    if (list) list.push(i);
    else byLength.set(s.length, [i]);
  });
  const out: SequenceScores[] = new Array(sequences.length);
  let done = 0;
  for (const [length, members] of byLength) {
    for (let from = 0; from < members.length; from += batch) {
      if (opts.signal?.aborted) throw new CanceledError('evaluation canceled');
      const group = members.slice(from, from + batch);
      const ids = new Int32Array(group.length * length);
      group.forEach((m, row) => ids.set(Array.from(sequences[m]!), row * length));
      const s = await scorer.score({ ids, batch: group.length, length });
      group.forEach((m, row) => {
        const top1 = new Int32Array(length);
        for (let t = 0; t < length; t++) top1[t] = Number(s.topIds[(row * length + t) * s.k]);
        out[m] = { targetLogprob: s.targetLogprob.slice(row * length, (row + 1) * length), top1 };
      });
      done += group.length;
      opts.onProgress?.(done / sequences.length);
    }
  }
  return out;
}
