import { describe, expect, it } from 'vitest';
import { loadTokenizer, parseTokenizer, TokenizerJsonError } from '../src/tokenizer/index';

/* Malformed or unsupported tokenizer.json files fail with a message naming the component path and value. */

const base = {
  version: '1.0',
  added_tokens: [{ id: 0, content: '<s>', special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: { type: 'BPE', unk_token: '<unk>', vocab: { '<s>': 0, '<unk>': 1, a: 2, b: 3, ab: 4 }, merges: ['a b'] },
};

function expectError(file: unknown, message: string | RegExp): void {
  let caught: unknown;
  try {
    loadTokenizer(file);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TokenizerJsonError);
  if (typeof message === 'string') expect((caught as Error).message).toContain(message);
  else expect((caught as Error).message).toMatch(message);
}

describe('tokenizer.json errors', () => {
  it('loads the well-formed base file', () => {
    expect(loadTokenizer(base).encode('ab a')).toEqual([4, 2]);
  });

  it('names an unsupported component type by its path', () => {
    expectError({ ...base, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'Foo' }] } }, 'pre_tokenizer.pretokenizers[1].type "Foo" is not supported');
    expectError({ ...base, normalizer: { type: 'Sequence', normalizers: [{ type: 'Bar' }] } }, 'normalizer.normalizers[0].type "Bar" is not supported');
    expectError({ ...base, decoder: { type: 'Sequence', decoders: [{ type: 'Fuse' }, { type: 'Baz' }] } }, 'decoder.decoders[1].type "Baz" is not supported');
    expectError({ ...base, post_processor: { type: 'Qux' } }, 'post_processor.type "Qux" is not supported');
    expectError({ ...base, model: { ...base.model, type: 'Legacy' } }, 'model.type "Legacy" is not supported');
  });

  it('names a bad or missing field', () => {
    expectError({ ...base, pre_tokenizer: { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Sideways' } }, /pre_tokenizer\.behavior: .*Removed/);
    expectError({ ...base, pre_tokenizer: { type: 'Split', behavior: 'Isolated' } }, 'pre_tokenizer.pattern: must be {"String": "..."} or {"Regex": "..."}');
    expectError({ ...base, pre_tokenizer: { type: 'Split', pattern: { Regex: '[a[b]]' }, behavior: 'Isolated' } }, 'pre_tokenizer.pattern.Regex "[a[b]]": nested character class at index 2 is not supported');
    expectError({ ...base, normalizer: { type: 'Prepend' } }, 'normalizer.prepend');
    expectError({ ...base, added_tokens: [{ id: -1, content: '<s>' }] }, 'tokenizer.json: added_tokens[0].id');
    expectError({ ...base, pre_tokenizer: 'Whitespace' }, 'pre_tokenizer must be an object with a "type"');
  });

  it('names vocabulary problems of the model', () => {
    expectError({ ...base, model: { ...base.model, merges: ['a b', 'a zz'] } }, 'model.merges[1]: right part "zz" is not in model.vocab');
    expectError({ ...base, model: { ...base.model, merges: ['a b c'] } }, 'model.merges[0] "a b c" is not two tokens separated by one space');
    expectError({ ...base, model: { ...base.model, merges: [['b', 'a']] } }, 'model.merges[0]: result "ba" is not in model.vocab');
    expectError({ ...base, model: { ...base.model, unk_token: '<missing>' } }, 'model.unk_token "<missing>" is not in model.vocab');
    expectError({ ...base, model: { ...base.model, dropout: 0.1 } }, 'model.dropout 0.1 is not supported');
    expectError({ ...base, model: { type: 'Unigram', unk_id: 5, vocab: [['a', -1]] } }, 'model.unk_id 5 is outside model.vocab');
    expectError({ ...base, model: { type: 'WordPiece', vocab: { a: 0 } } }, 'model.unk_token "[UNK]" is not in model.vocab');
  });

  it('names a post-processor that refers to missing tokens', () => {
    const template = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: {},
    };
    expectError({ ...base, post_processor: template }, 'post_processor.single[0] names special token "<bos>", missing from post_processor.special_tokens');
    expectError({ ...base, post_processor: { type: 'BertProcessing', cls: ['[CLS]', 99], sep: ['[SEP]', 98] } }, 'post_processor adds token id 99');
  });

  it('refuses what is not a tokenizer.json object', () => {
    expectError('nope', 'the file must hold a JSON object');
    expectError([], 'the file must hold a JSON object');
    expectError({ ...base, model: undefined }, 'model must be an object');
  });

  it('reads tokenizer.json text, naming invalid JSON', () => {
    expect(parseTokenizer(JSON.stringify(base)).encode('ab')).toEqual([4]);
    expect(() => parseTokenizer('{"model": ')).toThrow(/^tokenizer\.json: not valid JSON \(/);
  });

  it('a WordLevel model without unk_token names the word it cannot encode', () => {
    const wordLevel = loadTokenizer({ ...base, model: { type: 'WordLevel', vocab: { '<s>': 0, hello: 1 } } });
    expect(wordLevel.encode('hello')).toEqual([1]);
    expect(() => wordLevel.encode('hello there')).toThrow('word "there" is not in the WordLevel vocabulary and the model has no unk_token');
  });

  it('decoding an id outside the vocabulary is a RangeError naming the id', () => {
    expect(() => loadTokenizer(base).decode([2, 77])).toThrow(new RangeError('token id 77 (position 1) is not in the vocabulary of 5'));
  });
});
