import { BinaryHeap } from './binary-heap';
import { BYTE_TO_CHAR } from './byte-unicode';
import { BpeTokenizer, END_OF_TEXT, type BpeModel } from './bpe-tokenizer';
import { forEachWord, splitSpecial } from './pretokenize';

export interface TrainBpeOptions {
  /** Final vocabulary size including special tokens and the 256 bytes (an upper bound: see minFrequency). */
  readonly vocabSize: number;
  /** Added as ids 0.. in this order; `<|endoftext|>` is put first when missing. */
  readonly specialTokens?: readonly string[];
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  readonly minFrequency?: number;
}

/** Largest vocabulary for which `left * vocabSize + right` stays an exact integer key. */
const MAX_VOCAB_SIZE = 1 << 21;

/**
 * Byte-level BPE training (Sennrich et al. 2016; GPT-2 bytes and pre-tokenization,
 * Radford et al. 2019). Ids: special tokens first, then byte b at
 * `specialTokens.length + b`, then one id per merge in the order learned.
 *
 * Each step merges the most frequent adjacent pair; ties go to the smallest left
 * id, then the smallest right id, so training is deterministic. Words are counted
 * once per distinct pre-tokenized word; pair counts are updated incrementally
 * through an index from pair to the words holding it, and the best pair comes from
 * a max-heap with lazily dropped stale entries.
 */
export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): BpeTokenizer {
  const specialTokens = normalizeSpecialTokens(options.specialTokens ?? []);
  const minFrequency = options.minFrequency ?? 2;
  const { vocabSize } = options;
  const smallest = specialTokens.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < smallest || vocabSize > MAX_VOCAB_SIZE) {
    throw new RangeError(`vocabSize must be an integer in [${smallest}, ${MAX_VOCAB_SIZE}] (special tokens + 256 bytes at least), got ${vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new RangeError(`minFrequency must be a positive integer, got ${minFrequency}`);

  const tokens: string[] = [...specialTokens, ...BYTE_TO_CHAR];
  const { words, counts } = countWords(texts, specialTokens, specialTokens.length);
  const merges = learnMerges(words, counts, tokens.length, vocabSize, minFrequency);
  const mergePairs: (readonly [string, string])[] = [];
  for (const [left, right] of merges) {
    mergePairs.push([tokens[left], tokens[right]]);
    tokens.push(tokens[left] + tokens[right]);
  }
  const model: BpeModel = {
    tokens,
    merges: mergePairs,
    addedTokens: specialTokens.map((content, id) => ({ id, content, special: true })),
    ignoreMerges: false,
  };
  return new BpeTokenizer(model);
}

function normalizeSpecialTokens(requested: readonly string[]): string[] {
  const tokens = requested.includes(END_OF_TEXT) ? [...requested] : [END_OF_TEXT, ...requested];
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.length === 0) throw new Error('special tokens must be non-empty');
    if (seen.has(token)) throw new Error(`special token ${JSON.stringify(token)} is listed twice`);
    seen.add(token);
  }
  return tokens;
}

/** Distinct pre-tokenized words as byte-id sequences, with their frequencies. */
function countWords(texts: Iterable<string>, specialTokens: readonly string[], firstByteId: number): { words: Int32Array[]; counts: number[] } {
  const frequency = new Map<string, number>();
  const visit = (word: string): void => {
    frequency.set(word, (frequency.get(word) ?? 0) + 1);
  };
  for (const text of texts) {
    for (const segment of splitSpecial(text, specialTokens)) {
      if (!segment.special) forEachWord(segment.text, visit);
    }
  }
  const utf8 = new TextEncoder();
  const words: Int32Array[] = [];
  const counts: number[] = [];
  for (const [word, count] of frequency) {
    const bytes = utf8.encode(word);
    if (bytes.length < 2) continue; // a single byte holds no pair
    const symbols = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) symbols[i] = firstByteId + bytes[i];
    words.push(symbols);
    counts.push(count);
  }
  return { words, counts };
}

interface PairEntry {
  readonly count: number;
  readonly key: number;
}

/** Merges as [left, right] id pairs; merge i creates id `firstNewId + i`. */
function learnMerges(
  words: Int32Array[],
  counts: readonly number[],
  firstNewId: number,
  vocabSize: number,
  minFrequency: number,
): [number, number][] {
  const keyOf = (left: number, right: number): number => left * vocabSize + right;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = keyOf(symbols[i], symbols[i + 1]);
      pairCount.set(key, (pairCount.get(key) ?? 0) + counts[w]);
      const holders = pairWords.get(key);
      if (holders === undefined) pairWords.set(key, [w]);
      else if (holders[holders.length - 1] !== w) holders.push(w);
    }
  });
  const heap = new BinaryHeap<PairEntry>((a, b) => a.count > b.count || (a.count === b.count && a.key < b.key));
  for (const [key, count] of pairCount) heap.push({ count, key });

  const merges: [number, number][] = [];
  const visitedAt = new Int32Array(words.length).fill(-1);
  const delta = new Map<number, number>();
  for (let newId = firstNewId; newId < vocabSize; newId++) {
    const best = popBest(heap, pairCount);
    if (best === undefined || best.count < minFrequency) break;
    const left = Math.floor(best.key / vocabSize);
    const right = best.key - left * vocabSize;
    merges.push([left, right]);

    delta.clear();
    for (const w of pairWords.get(best.key) ?? []) {
      if (visitedAt[w] === newId) continue;
      visitedAt[w] = newId;
      const before = words[w];
      const after = replacePair(before, left, right, newId);
      if (after === before) continue;
      words[w] = after;
      const count = counts[w];
      for (let i = 0; i + 1 < before.length; i++) addTo(delta, keyOf(before[i], before[i + 1]), -count);
      for (let i = 0; i + 1 < after.length; i++) {
        const key = keyOf(after[i], after[i + 1]);
        addTo(delta, key, count);
        if (after[i] === newId || after[i + 1] === newId) {
          const holders = pairWords.get(key);
          if (holders === undefined) pairWords.set(key, [w]);
          else if (holders[holders.length - 1] !== w) holders.push(w);
        }
      }
    }
    for (const [key, change] of delta) {
      if (change === 0) continue;
      const count = (pairCount.get(key) ?? 0) + change;
      if (count > 0) {
        pairCount.set(key, count);
        heap.push({ count, key });
      } else {
        // A pair of existing ids never gains occurrences again, so its index can go.
        pairCount.delete(key);
        pairWords.delete(key);
      }
    }
  }
  return merges;
}

/**
 * Pops the pair with the highest current count. Every count change pushes a fresh
 * entry, so an entry whose count no longer matches is stale and simply dropped.
 */
function popBest(heap: BinaryHeap<PairEntry>, pairCount: ReadonlyMap<number, number>): PairEntry | undefined {
  for (let entry = heap.pop(); entry !== undefined; entry = heap.pop()) {
    if (pairCount.get(entry.key) === entry.count) return entry;
  }
  return undefined;
}

/** `symbols` with non-overlapping occurrences of (left, right), scanned left to right, replaced by `merged`. */
function replacePair(symbols: Int32Array, left: number, right: number, merged: number): Int32Array {
  let found = -1;
  for (let i = 0; i + 1 < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) {
      found = i;
      break;
    }
  }
  if (found < 0) return symbols;
  const out = new Int32Array(symbols.length - 1);
  let k = 0;
  for (let i = 0; i < found; i++) out[k++] = symbols[i];
  for (let i = found; i < symbols.length; ) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out[k++] = merged;
      i += 2;
    } else {
      out[k++] = symbols[i++];
    }
  }
  return out.subarray(0, k);
}

function addTo(map: Map<number, number>, key: number, change: number): void {
  map.set(key, (map.get(key) ?? 0) + change);
}
