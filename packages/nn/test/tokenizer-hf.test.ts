import { bundledDocuments, mulberry32, type Random } from '@distillery/data';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { END_OF_TEXT, fromTokenizerJson, toTokenizerConfigJson, toTokenizerJson, trainBpe } from '../src/tokenizer/index';

/*
 * The independent check: @huggingface/tokenizers loads our tokenizer.json and must
 * produce exactly our ids.
 */

const documents = bundledDocuments();
const ours = trainBpe(
  documents.filter((_, i) => i % 10 === 0).map((d) => d.text),
  { vocabSize: 1500, specialTokens: [END_OF_TEXT, '<|pad|>'] },
);
// Through a JSON string, as when read from disk.
const file = JSON.parse(JSON.stringify(toTokenizerJson(ours))) as object;
const theirs = new Tokenizer(file, toTokenizerConfigJson(ours));

function randomText(random: Random, length: number): string {
  const ranges: [number, number][] = [[0x00, 0x7f], [0x80, 0x2ff], [0x300, 0x36f], [0x2000, 0x206f], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0x1f300, 0x1faff]];
  let text = '';
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[random.nextInt(ranges.length)];
    text += random.nextInt(6) === 0 ? [' ', "'s", "'ll", '  ', END_OF_TEXT, '\n'][random.nextInt(6)] : String.fromCodePoint(low + random.nextInt(high - low + 1));
  }
  return text;
}

const TRICKY = [
  ' ',
  '   leading and trailing spaces   ',
  'tabs\tand\r\nnewlines\n\n\n',
  "don't we'll they've I'm she'd it's O'Neil's 'quoted' ''",
  `${END_OF_TEXT}starts${END_OF_TEXT}${END_OF_TEXT} and <|endoftext| broken <|pad|>`,
  'numbers 1,234.56 and 2024-11-01 and ٣٤٥ and ½',
  'Ünïcödé façade naïve café e\u0301 \u00a0nbsp\u3000ideographic\u2028line sep',
  '日本語のテキストと中文文本 한국어',
  '🐋 whale 👨‍👩‍👧 family 🇺🇸 flag ✔️',
  '\u0000\u0001\u001f\u007f control',
  '\uFEFFbom at start',
  'x'.repeat(300),
];

describe('@huggingface/tokenizers agrees with our tokenizer.json', () => {
  it('encodes a few KB of corpus text to the same ids', () => {
    const sample = documents
      .filter((_, i) => i % 40 === 3)
      .map((d) => d.text.slice(0, 800))
      .join('\n\n');
    expect(sample.length).toBeGreaterThan(5000);
    expect(theirs.encode(sample).ids).toEqual(ours.encode(sample));
  });

  it('encodes tricky strings to the same ids and decodes them to the same text', () => {
    for (const text of TRICKY) {
      const ids = ours.encode(text);
      expect(theirs.encode(text).ids, JSON.stringify(text)).toEqual(ids);
      expect(theirs.decode(ids, { clean_up_tokenization_spaces: false })).toBe(ours.decode(ids));
    }
  });

  it('encodes random Unicode strings to the same ids', () => {
    const random = mulberry32(99);
    for (let i = 0; i < 300; i++) {
      const text = randomText(random, 1 + random.nextInt(40));
      expect(theirs.encode(text).ids, JSON.stringify(text)).toEqual(ours.encode(text));
    }
  });

  it('has the same vocabulary and special tokens', () => {
    expect(theirs.get_vocab().size).toBe(ours.vocabSize);
    expect(theirs.token_to_id(END_OF_TEXT)).toBe(ours.endOfTextId);
    expect(theirs.id_to_token(ours.vocabSize - 1)).toBe(ours.idToToken(ours.vocabSize - 1));
  });
});

describe('tokenizer.json save and load', () => {
  it('loads back the same model', () => {
    const loaded = fromTokenizerJson(file);
    expect(loaded.model).toEqual(ours.model);
    expect(toTokenizerJson(loaded)).toEqual(file);
  });

  it('reads merges written as "left right" strings (the older layout)', () => {
    const json = toTokenizerJson(ours);
    const older = { ...json, model: { ...json.model, merges: ours.model.merges.map(([l, r]) => `${l} ${r}`) } };
    expect(fromTokenizerJson(older).model.merges).toEqual(ours.model.merges);
  });

  it('refuses settings it does not implement, saying which', () => {
    const json = toTokenizerJson(ours);
    expect(() => fromTokenizerJson({ ...json, normalizer: { type: 'NFC' } })).toThrow(/normalizers are not supported/);
    expect(() => fromTokenizerJson({ ...json, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } })).toThrow(/add_prefix_space must be false/);
    expect(() => fromTokenizerJson({ ...json, model: { ...json.model, type: 'WordPiece' } })).toThrow(/invalid tokenizer.json/);
    expect(() => fromTokenizerJson('nope')).toThrow(/invalid tokenizer.json/);
  });

  it('refuses inconsistent files', () => {
    const json = toTokenizerJson(ours);
    const vocab = { ...json.model.vocab };
    delete vocab['Ġ'];
    expect(() => fromTokenizerJson({ ...json, model: { ...json.model, vocab } })).toThrow(/no token has id/);
    const merges = [...(json.model.merges as [string, string][]), ['q', 'zz'] as [string, string]];
    expect(() => fromTokenizerJson({ ...json, model: { ...json.model, merges } })).toThrow(`right part of merge ${ours.model.merges.length} ("zz") is not in the vocabulary`);
  });
});
