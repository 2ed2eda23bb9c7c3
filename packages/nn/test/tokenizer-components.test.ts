import { mulberry32 } from '@distillery/data';
import { describe, expect, it } from 'vitest';
import { parseDecoder } from '../src/tokenizer/decoders';
import { parseNormalizer } from '../src/tokenizer/normalizers';
import { compileOniguruma, translateOniguruma } from '../src/tokenizer/oniguruma-regex';
import { parsePostProcessor } from '../src/tokenizer/post-processors';
import { parsePreTokenizer } from '../src/tokenizer/pre-tokenizers';
import { SPLIT_BEHAVIORS, splitWithBehavior } from '../src/tokenizer/split-behavior';
import { loadTokenizer } from '../src/tokenizer/index';
import { UnigramTokenModel } from '../src/tokenizer/unigram-token-model';
import { BpeTokenModel } from '../src/tokenizer/bpe-token-model';
import { MergeTable } from '../src/tokenizer/merge-table';
import { mergeWord } from '../src/tokenizer/merge-word';

/*
 * Components one by one, on the examples of the `tokenizers` crate's documentation
 * and against slow references.
 */

const split = (text: string, behavior: (typeof SPLIT_BEHAVIORS)[number], invert = false): string[] => {
  const out: string[] = [];
  splitWithBehavior(text, /-/gu, behavior, invert, out);
  return out;
};

describe('split behaviors', () => {
  it('cut "the-final--countdown" at "-" as the crate documents', () => {
    expect(split('the-final--countdown', 'Removed')).toEqual(['the', 'final', 'countdown']);
    expect(split('the-final--countdown', 'Isolated')).toEqual(['the', '-', 'final', '-', '-', 'countdown']);
    expect(split('the-final--countdown', 'MergedWithPrevious')).toEqual(['the-', 'final-', '-', 'countdown']);
    expect(split('the-final--countdown', 'MergedWithNext')).toEqual(['the', '-final', '-', '-countdown']);
    expect(split('the-final--countdown', 'Contiguous')).toEqual(['the', '-', 'final', '--', 'countdown']);
  });

  it('invert: the matches are kept and the rest are the delimiters', () => {
    expect(split('a-b--c', 'Removed', true)).toEqual(['-', '-', '-']);
    expect(split('a-b--c', 'Contiguous', true)).toEqual(['a', '-', 'b', '--', 'c']);
    expect(split('-a-', 'Isolated', true)).toEqual(['-', 'a', '-']);
  });

  it('every behavior but Removed is lossless on random strings', () => {
    const random = mulberry32(3);
    for (let i = 0; i < 200; i++) {
      const text = Array.from({ length: random.nextInt(20) }, () => 'ab-'[random.nextInt(3)]).join('');
      for (const behavior of SPLIT_BEHAVIORS) {
        const pieces = split(text, behavior, random.nextInt(2) === 0);
        expect(pieces.every((piece) => piece.length > 0)).toBe(true);
        if (behavior !== 'Removed') expect(pieces.join('')).toBe(text);
      }
    }
  });
});

describe('pre-tokenizers', () => {
  const run = (config: object, text: string, section = 0): string[] => parsePreTokenizer(config).split(text, section);

  it('Punctuation isolates each punctuation character, Digits groups or isolates numbers', () => {
    expect(run({ type: 'Punctuation' }, 'Hey friend!     How are you?!?')).toEqual(['Hey friend', '!', '     How are you', '?', '!', '?']);
    expect(run({ type: 'Punctuation', behavior: 'Contiguous' }, 'a...b')).toEqual(['a', '...', 'b']);
    expect(run({ type: 'Digits', individual_digits: false }, 'Hey 123 friend!')).toEqual(['Hey ', '123', ' friend!']);
    expect(run({ type: 'Digits', individual_digits: true }, 'Hey 123 friend!')).toEqual(['Hey ', '1', '2', '3', ' friend!']);
  });

  it('Whitespace, WhitespaceSplit and BertPreTokenizer', () => {
    expect(run({ type: 'Whitespace' }, 'Hey man!! How are you?')).toEqual(['Hey', 'man', '!!', 'How', 'are', 'you', '?']);
    expect(run({ type: 'Whitespace' }, 'café naïve')).toEqual(['café', 'naïve']);
    expect(run({ type: 'WhitespaceSplit' }, ' Hey\tman!!\u3000How ')).toEqual(['Hey', 'man!!', 'How']);
    expect(run({ type: 'BertPreTokenizer' }, "Hey friend!  How's it?")).toEqual(['Hey', 'friend', '!', 'How', "'", 's', 'it', '?']);
  });

  it('Metaspace prepends by scheme and splits before each metaspace', () => {
    const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
    expect(run(metaspace, 'Hey friend')).toEqual(['▁Hey', '▁friend']);
    expect(run({ ...metaspace, split: false }, 'Hey  friend')).toEqual(['▁Hey▁▁friend']);
    expect(run({ ...metaspace, prepend_scheme: 'first' }, 'Hey', 1)).toEqual(['Hey']);
    expect(run({ ...metaspace, prepend_scheme: 'first' }, 'Hey', 0)).toEqual(['▁Hey']);
    expect(run({ ...metaspace, prepend_scheme: 'never' }, 'Hey you')).toEqual(['Hey', '▁you']);
    expect(run({ type: 'Metaspace', replacement: '▁', add_prefix_space: false }, 'Hey')).toEqual(['Hey']);
  });

  it('Split with a regex and a behavior; Sequence applies steps in order; FixedLength counts code points', () => {
    expect(run({ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false }, 'a  b\tc')).toEqual(['a', 'b', 'c']);
    expect(run({ type: 'Split', pattern: { String: ', ' }, behavior: 'MergedWithPrevious', invert: false }, 'a, b, c')).toEqual(['a, ', 'b, ', 'c']);
    expect(
      run({ type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }] }, 'ab12 c3'),
    ).toEqual(['ab', '1', '2', 'c', '3']);
    expect(run({ type: 'FixedLength', length: 2 }, 'a🐋bcd')).toEqual(['a🐋', 'bc', 'd']);
  });

  it('ByteLevel maps bytes to symbols unless the model takes raw bytes', () => {
    expect(run({ type: 'ByteLevel', add_prefix_space: true, use_regex: true }, 'Hi é')).toEqual(['ĠHi', 'ĠÃ©']);
    const deferred = parsePreTokenizer({ type: 'ByteLevel', add_prefix_space: false, use_regex: true }, 'pre_tokenizer', true);
    expect(deferred.bytesDeferred).toBe(true);
    expect(deferred.split('Hi é', 0)).toEqual(['Hi', ' é']);
  });
});

describe('normalizers', () => {
  const run = (config: object, text: string): string => parseNormalizer(config)(text);

  it('apply in sequence', () => {
    const config = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }, { type: 'Strip', strip_left: true, strip_right: false }] };
    expect(run(config, '  Héllo Wörld  ')).toBe('hello world  ');
    expect(run({ type: 'NFKC' }, 'ﬁ①')).toBe('fi1');
    expect(run({ type: 'Prepend', prepend: '▁' }, 'a')).toBe('▁a');
    expect(run({ type: 'Replace', pattern: { String: ' ' }, content: '▁' }, 'a b  c')).toBe('a▁b▁▁c');
    expect(run({ type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }, 'a b  c')).toBe('a b c');
  });

  it('BertNormalizer cleans controls, spaces CJK, lowercases and strips accents', () => {
    const bert = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
    expect(run(bert, 'Héllo\u0000\tW中𠀀')).toBe('hello w 中  𠀀 ');
    expect(run({ ...bert, lowercase: false, strip_accents: false }, 'Héllo')).toBe('Héllo');
  });
});

describe('Oniguruma patterns', () => {
  it('rewrite (?i:...), \\s, possessive and repeated bounded quantifiers', () => {
    const llama3 = compileOniguruma("(?i:'s|'t)|\\p{N}{1,3}|\\s+(?!\\S)|\\s+");
    expect("It'S 12345".match(llama3)).toEqual(["'S", ' ', '123', '45']);
    expect('a\u0085b'.match(compileOniguruma('\\s'))).toEqual(['\u0085']);
    expect('a\uFEFFb'.match(compileOniguruma('\\s'))).toBeNull();
    expect('aaaa'.match(compileOniguruma('a++'))).toEqual(['aaaa']);
    expect('aaaaa'.match(compileOniguruma('a{2}+'))).toEqual(['aaaa']);
    expect('x.y'.match(compileOniguruma('(?>x|y)\\.'))).toEqual(['x.']);
    expect('漢字 かな'.match(compileOniguruma('\\p{Han}+'))).toEqual(['漢字']);
    expect('AbC'.match(compileOniguruma('(?i:[a-b])+'))).toEqual(['Ab']);
    expect(translateOniguruma('[^\\r\\n\\p{L}]')).toBe('[^\\r\\n\\p{L}]');
  });

  it('refuse what JavaScript cannot express, naming it', () => {
    expect(() => compileOniguruma('[a[b]]')).toThrow(/nested character class at index 2/);
    expect(() => compileOniguruma('[a&&b]')).toThrow(/intersection/);
    expect(() => compileOniguruma('[[:alpha:]]')).toThrow(/POSIX/);
    expect(() => compileOniguruma('(a')).toThrow(/not closed/);
    expect(() => compileOniguruma('\\p{NoSuchProperty}')).toThrow(/NoSuchProperty/);
  });
});

/** All segmentations of `text` into vocabulary pieces (or single unknown characters), best total score; the slow reference for Viterbi. */
function bruteForceUnigram(chars: string[], scores: Map<string, number>, unkScore: number): { score: number; pieces: string[] } {
  if (chars.length === 0) return { score: 0, pieces: [] };
  let best: { score: number; pieces: string[] } | null = null;
  for (let length = 1; length <= chars.length; length++) {
    const piece = chars.slice(0, length).join('');
    const known = scores.get(piece);
    const hasSingle = scores.has(chars[0]);
    const score = known ?? (length === 1 && !hasSingle ? unkScore : undefined);
    if (score === undefined) continue;
    const rest = bruteForceUnigram(chars.slice(length), scores, unkScore);
    if (best === null || score + rest.score > best.score) best = { score: score + rest.score, pieces: [piece, ...rest.pieces] };
  }
  return best as { score: number; pieces: string[] };
}

describe('Unigram Viterbi', () => {
  it('finds the best-scoring segmentation, as exhaustive search does', () => {
    const random = mulberry32(21);
    const alphabet = 'abcd';
    for (let trial = 0; trial < 40; trial++) {
      const vocab: [string, number][] = [['<unk>', 0]];
      const seen = new Set<string>();
      for (let i = 0; i < 25; i++) {
        const piece = Array.from({ length: 1 + random.nextInt(3) }, () => alphabet[random.nextInt(3)]).join('');
        // Distinct irrational-ish scores so the best segmentation is unique.
        if (!seen.has(piece)) vocab.push([piece, -1 - random.nextInt(1_000_000) / 200_000]);
        seen.add(piece);
      }
      const model = new UnigramTokenModel({ type: 'Unigram', unk_id: 0, vocab });
      const scores = new Map(vocab.slice(1));
      const minScore = Math.min(...vocab.map(([, score]) => score));
      const text = Array.from({ length: 1 + random.nextInt(9) }, () => alphabet[random.nextInt(4)]).join('');
      const expected = bruteForceUnigram(Array.from(text), scores, minScore - 10);
      const ids: number[] = [];
      model.encode([text], false, ids);
      // Unknown characters in a row fuse into one unknown token.
      const expectedIds = expected.pieces.map((piece) => (scores.has(piece) ? vocab.findIndex(([p]) => p === piece) : 0)).filter((id, i, all) => !(id === 0 && all[i - 1] === 0));
      expect(ids, text).toEqual(expectedIds);
    }
  });

  it('falls back to byte tokens for unknown characters when byte_fallback is set', () => {
    const vocab: [string, number][] = [['<unk>', 0], ['a', -1], ...Array.from({ length: 256 }, (_, b): [string, number] => [`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, -5])];
    const model = new UnigramTokenModel({ type: 'Unigram', unk_id: 0, vocab, byte_fallback: true });
    const ids: number[] = [];
    model.encode(['aé'], false, ids);
    expect(ids).toEqual([1, 2 + 0xc3, 2 + 0xa9]);
  });
});

/** Naive BPE merging: find the lowest-ranked adjacent pair (leftmost on ties), merge it, repeat. */
function naiveMerge(symbols: number[], merges: readonly [number, number, number][]): number[] {
  const parts = [...symbols];
  for (;;) {
    let best = -1;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = merges.findIndex(([l, r]) => l === parts[i] && r === parts[i + 1]);
      if (rank >= 0 && (best < 0 || rank < best)) [best, at] = [rank, i];
    }
    if (best < 0) return parts;
    parts.splice(at, 2, merges[best][2]);
  }
}

describe('BPE merging', () => {
  it('equals naive merging for short words (rescan) and long words (heap)', () => {
    const random = mulberry32(8);
    for (let trial = 0; trial < 30; trial++) {
      const merges: [number, number, number][] = [];
      for (let k = 0; k < 40; k++) merges.push([random.nextInt(8 + k), random.nextInt(8 + k), 8 + k]);
      const table = new MergeTable(merges);
      for (const length of [2, 5, 24, 25, 60]) {
        const symbols = Array.from({ length }, () => random.nextInt(4));
        expect(Array.from(mergeWord(Int32Array.from(symbols), table))).toEqual(naiveMerge(symbols, merges));
      }
    }
  });
});

describe('BPE affixes and unknowns', () => {
  it('uses the continuing-subword prefix and end-of-word suffix of the crate', () => {
    const vocab = { a: 0, '##b': 1, '##c</w>': 2, 'ab': 3, 'ab##c</w>': 4, '[UNK]': 5, '##c': 6 };
    const model = new BpeTokenModel({ type: 'BPE', unk_token: '[UNK]', continuing_subword_prefix: '##', end_of_word_suffix: '</w>', vocab, merges: [['a', '##b']] });
    const ids: number[] = [];
    model.encode(['abc', 'axxa'], false, ids);
    expect(ids).toEqual([3, 2, 0, 5, 5, 5]);
    const fused = new BpeTokenModel({ type: 'BPE', unk_token: '[UNK]', fuse_unk: true, continuing_subword_prefix: '##', vocab, merges: [] });
    const fusedIds: number[] = [];
    fused.encode(['axxa'], false, fusedIds);
    expect(fusedIds).toEqual([0, 5]);
  });
});

describe('post-processors and decoders', () => {
  it('TemplateProcessing, RobertaProcessing and Sequence wrap the ids', () => {
    const template = parsePostProcessor({
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    });
    expect(template.single([7, 8])).toEqual([1, 7, 8, 2]);
    expect(parsePostProcessor({ type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0] }).single([5])).toEqual([0, 5, 2]);
    const sequence = parsePostProcessor({ type: 'Sequence', processors: [{ type: 'ByteLevel' }, { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] }] });
    expect(sequence.single([9])).toEqual([2, 9, 3]);
  });

  it('decoders: ByteFallback, Fuse, Strip, WordPiece, BPEDecoder, CTC', () => {
    const none = { addedContents: new Set<string>() };
    const decode = (config: object, tokens: string[]): string => (parseDecoder(config, none) as (t: string[]) => string[])(tokens).join('');
    expect(decode({ type: 'ByteFallback' }, ['a', '<0xC3>', '<0xA9>', 'b'])).toBe('aéb');
    // An invalid run becomes one U+FFFD per byte, as in the crate.
    expect(decode({ type: 'ByteFallback' }, ['a', '<0xC3>', '<0xA9>', '<0xFF>', 'b'])).toBe('a\ufffd\ufffd\ufffdb');
    expect(decode({ type: 'Sequence', decoders: [{ type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 1 }] }, [' a', 'b '])).toBe('ab');
    expect(decode({ type: 'WordPiece', prefix: '##', cleanup: true }, ['hello', '##s', 'world', '!'])).toBe('hellos world!');
    expect(decode({ type: 'BPEDecoder', suffix: '</w>' }, ['hel', 'lo</w>', 'you</w>'])).toBe('hello you');
    expect(decode({ type: 'ByteLevel' }, ['Hi', 'Ġw', 'Ã©', '€'])).toBe('Hi wé€');
    expect(decode({ type: 'CTC', pad_token: '<pad>', word_delimiter_token: '|', cleanup: true }, ['h', 'h', '<pad>', 'i', '|', 'y', 'o'])).toBe('hi yo');
  });

  it('a tokenizer with no decoder joins tokens with spaces', () => {
    const tokenizer = loadTokenizer({ added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', vocab: { '[UNK]': 0, hi: 1, there: 2 } } });
    expect(tokenizer.decode(tokenizer.encode('hi there'))).toBe('hi there');
  });
});
