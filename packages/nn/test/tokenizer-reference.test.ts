import { bundledDocuments, mulberry32 } from '@distillery/data';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, END_OF_TEXT, splitWords, trainBpe, type BpeTokenizer } from '../src/tokenizer/index';

/*
 * Slow, obviously correct references for the fast encoder and trainer.
 */

const symbolsOf = (word: string): string[] => Array.from(new TextEncoder().encode(word), (byte) => BYTE_TO_CHAR[byte]);

/** Naive BPE: while some adjacent pair is a merge, merge every occurrence of the lowest-ranked one, left to right. */
function naiveEncode(tokenizer: BpeTokenizer, text: string): number[] {
  const rank = new Map(tokenizer.model.merges.map(([left, right], r) => [`${left} ${right}`, r]));
  const ids: number[] = [];
  for (const word of splitWords(text)) {
    let parts = symbolsOf(word);
    for (;;) {
      let best = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && (best < 0 || r < best)) best = r;
      }
      if (best < 0) break;
      const [left, right] = tokenizer.model.merges[best];
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === left && parts[i + 1] === right) merged.push(parts[i] + parts[++i]);
        else merged.push(parts[i]);
      }
      parts = merged;
    }
    for (const part of parts) ids.push(tokenizer.tokenToId(part) as number);
  }
  return ids;
}

/**
 * Naive BPE training: recount every pair of every word occurrence before each merge;
 * take the highest count, ties to the smallest left id then the smallest right id.
 */
function naiveTrain(texts: string[], vocabSize: number, minFrequency: number): [string, string][] {
  const tokens = [END_OF_TEXT, ...BYTE_TO_CHAR];
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  let words = texts.flatMap((text) => splitWords(text)).map(symbolsOf);
  const merges: [string, string][] = [];
  while (tokens.length < vocabSize) {
    const counts = new Map<string, { left: string; right: string; count: number }>();
    for (const word of words) {
      for (let i = 0; i + 1 < word.length; i++) {
        const key = `${word[i]} ${word[i + 1]}`;
        const entry = counts.get(key) ?? { left: word[i], right: word[i + 1], count: 0 };
        entry.count++;
        counts.set(key, entry);
      }
    }
    let best: { left: string; right: string; count: number } | undefined;
    for (const entry of counts.values()) {
      if (
        best === undefined ||
        entry.count > best.count ||
        (entry.count === best.count &&
          ((idOf.get(entry.left) as number) < (idOf.get(best.left) as number) ||
            (entry.left === best.left && (idOf.get(entry.right) as number) < (idOf.get(best.right) as number))))
      ) {
        best = entry;
      }
    }
    if (best === undefined || best.count < minFrequency) break;
    const { left, right } = best;
    merges.push([left, right]);
    idOf.set(left + right, tokens.length);
    tokens.push(left + right);
    words = words.map((word) => {
      const out: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === left && word[i + 1] === right) out.push(word[i] + word[++i]);
        else out.push(word[i]);
      }
      return out;
    });
  }
  return merges;
}

const documents = bundledDocuments();

describe('fast BPE trainer against the naive trainer', () => {
  it('learns the same merges, in the same order, on a small corpus', () => {
    const texts = documents.filter((_, i) => i % 60 === 5).map((d) => d.text.slice(0, 1500));
    const fast = trainBpe(texts, { vocabSize: 257 + 300, minFrequency: 2 });
    expect(fast.model.merges).toEqual(naiveTrain(texts, 257 + 300, 2));
  });

  it('breaks ties the same documented way, including minFrequency 1 and repeated symbols', () => {
    const texts = ['aaaa bbbb abab baba', 'zz yx xy  aaa ', 'ééé 東京東京 🐋🐋'];
    const fast = trainBpe(texts, { vocabSize: 257 + 40, minFrequency: 1 });
    expect(fast.model.merges).toEqual(naiveTrain(texts, 257 + 40, 1));
    expect(fast.model.merges.length).toBeGreaterThan(10);
  });
});

describe('fast BPE encoder against the naive encoder', () => {
  const tokenizer = trainBpe(
    documents.filter((_, i) => i % 15 === 0).map((d) => d.text),
    { vocabSize: 1200 },
  );

  it('gives the same ids on corpus text', () => {
    const sample = documents
      .filter((_, i) => i % 15 === 7)
      .map((d) => d.text.slice(0, 6000))
      .join('\n');
    expect(tokenizer.encode(sample)).toEqual(naiveEncode(tokenizer, sample));
  });

  it('gives the same ids on long words and random strings', () => {
    const random = mulberry32(11);
    const samples = ['a'.repeat(999), 'the'.repeat(400), '東京'.repeat(300), ' '.repeat(500), 'ab\n'.repeat(50)];
    for (let i = 0; i < 300; i++) {
      let text = '';
      const length = random.nextInt(30);
      for (let k = 0; k < length; k++) text += 'the ing er an\'s 1é\n'[random.nextInt(19)];
      samples.push(text);
    }
    for (const text of samples) expect(tokenizer.encode(text)).toEqual(naiveEncode(tokenizer, text));
  });
});
