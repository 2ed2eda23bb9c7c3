import { bundledDocuments, mulberry32, type Random } from '@distillery/data';
import { describe, expect, it } from 'vitest';
import { END_OF_TEXT, splitWords, trainBpe } from '../src/tokenizer/index';

/** Code point ranges that stress byte-level BPE: controls, Latin-1, combining marks, odd spaces, CJK, emoji. */
const RANGES: readonly [number, number][] = [
  [0x00, 0x1f], [0x20, 0x7e], [0x7f, 0xff], [0x300, 0x36f], [0x2000, 0x200f], [0x2028, 0x2029],
  [0x3000, 0x3000], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
  [0x1f300, 0x1faff], [0x10000, 0x10ffff],
];
const PIECES = [' ', '  ', '\n', "'s", "'ll", "n't", '123', ' the', END_OF_TEXT, '<|endof', '\u200d', 'e\u0301'];

function randomCodePoint(random: Random): number {
  if (random.nextInt(8) === 0) return random.nextInt(0xd800); // anywhere below the surrogates
  const [low, high] = RANGES[random.nextInt(RANGES.length)];
  return low + random.nextInt(high - low + 1);
}

function randomText(random: Random, maxLength: number): string {
  let text = '';
  const length = random.nextInt(maxLength + 1);
  for (let i = 0; i < length; i++) {
    text += random.nextInt(5) === 0 ? PIECES[random.nextInt(PIECES.length)] : String.fromCodePoint(randomCodePoint(random));
  }
  return text;
}

const corpus = bundledDocuments()
  .filter((_, i) => i % 12 === 0)
  .map((d) => d.text);
const tokenizer = trainBpe(corpus, { vocabSize: 1024, specialTokens: [END_OF_TEXT, '<|pad|>'] });

describe('byte-level BPE round trip', () => {
  it('puts special tokens first and reports its size', () => {
    expect(tokenizer.vocabSize).toBe(1024);
    expect(tokenizer.endOfTextId).toBe(0);
    expect(tokenizer.tokenToId('<|pad|>')).toBe(1);
    expect(tokenizer.idToToken(2)).toBe('\u0100'); // byte 0x00 in GPT-2's byte alphabet
  });

  it('decodes the encoding of random Unicode text to the same text', () => {
    const random = mulberry32(2024);
    for (let i = 0; i < 3000; i++) {
      const text = randomText(random, 40);
      const ids = tokenizer.encode(text);
      expect(tokenizer.decode(ids)).toBe(text);
      expect(tokenizer.decode(tokenizer.encodeOrdinary(text))).toBe(text);
      expect(Buffer.from(tokenizer.decodeBytes(ids)).equals(Buffer.from(text, 'utf8'))).toBe(true);
      for (const id of ids) expect(id >= 0 && id < tokenizer.vocabSize).toBe(true);
      expect(splitWords(text).join('')).toBe(text);
    }
  });

  it('round-trips corpus text, the empty string and edge cases', () => {
    for (const text of [...corpus.slice(0, 5), '', ' ', '\uFEFFstarts with a BOM', '\u0000\u0001\u007f', '🐋'.repeat(300), '字'.repeat(2000)]) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('turns special-token text into the special id only in encode, not in encodeOrdinary', () => {
    const eot = tokenizer.endOfTextId;
    expect(tokenizer.encode(`a${END_OF_TEXT}b`)).toEqual([...tokenizer.encode('a'), eot, ...tokenizer.encode('b')]);
    expect(tokenizer.encodeOrdinary(END_OF_TEXT)).not.toContain(eot);
  });

  it('joins documents with the separator in front of each', () => {
    const stream = tokenizer.encodeDocuments(['Call me Ishmael.', 'Fellow-Citizens']);
    const first = tokenizer.encode('Call me Ishmael.');
    expect(Array.from(stream)).toEqual([0, ...first, 0, ...tokenizer.encode('Fellow-Citizens')]);
  });

  it('compresses English: well under one token per byte', () => {
    const text = corpus[1].slice(0, 20_000);
    expect(tokenizer.encode(text).length / Buffer.byteLength(text)).toBeLessThan(0.4);
  });

  it('rejects ids outside the vocabulary when decoding', () => {
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(/outside the vocabulary/);
  });
});

describe('trainBpe options', () => {
  it('is deterministic', () => {
    const again = trainBpe(corpus, { vocabSize: 1024, specialTokens: [END_OF_TEXT, '<|pad|>'] });
    expect(again.model).toEqual(tokenizer.model);
  });

  it('adds <|endoftext|> when missing and validates its options', () => {
    const small = trainBpe(['hello hello'], { vocabSize: 300, specialTokens: ['<|bos|>'] });
    expect(small.model.addedTokens.map((t) => t.content)).toEqual([END_OF_TEXT, '<|bos|>']);
    expect(() => trainBpe([], { vocabSize: 100 })).toThrow(/vocabSize must be an integer in \[257,/);
    expect(() => trainBpe([], { vocabSize: 300, specialTokens: ['x', 'x'] })).toThrow(/listed twice/);
    expect(() => trainBpe([], { vocabSize: 300, minFrequency: 0 })).toThrow(/minFrequency/);
  });

  it('stops early when no pair is frequent enough', () => {
    const small = trainBpe(['ab ab cd'], { vocabSize: 400 });
    // "ab" twice, " ab" once, "cd"... only (a,b) reaches the default minimum of 2.
    expect(small.model.merges).toEqual([['a', 'b']]);
    expect(small.vocabSize).toBe(1 + 256 + 1);
  });
});
