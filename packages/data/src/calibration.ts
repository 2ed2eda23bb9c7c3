import { mulberry32 } from './random';

/**
 * `n` windows of `length` consecutive tokens taken from `tokens` (the tokenized
 * train split), at start positions drawn uniformly with replacement by a seeded
 * mulberry32 generator: the same seed gives the same windows. Windows may overlap.
 */
export function sampleSequences(tokens: Int32Array | readonly number[], n: number, length: number, seed: number): Int32Array[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  if (tokens.length < length) {
    throw new RangeError(`cannot sample windows of ${length} tokens from a corpus of only ${tokens.length} tokens`);
  }
  const source = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
  const random = mulberry32(seed);
  const starts = source.length - length + 1;
  const windows: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    const start = random.nextInt(starts);
    windows.push(source.slice(start, start + length));
  }
  return windows;
}
