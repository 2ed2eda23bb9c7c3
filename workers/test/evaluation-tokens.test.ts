import { describe, expect, it } from 'vitest';
import { splitBundledCorpora } from '@distillery/data';
import { END_OF_TEXT, trainBpe } from '@distillery/nn';
import { evaluationTokens } from '../src/evaluation-tokens';

describe('evaluationTokens', () => {
  const tokenizer = trainBpe([splitBundledCorpora().train[0]!.text.slice(0, 10_000)], { vocabSize: 300 });

  it('is the test split, documents separated by <|endoftext|>, cut at maxTokens', () => {
    const tokens = evaluationTokens(tokenizer, 2000);
    expect(tokens.length).toBe(2000);
    expect(tokens[0]).toBe(tokenizer.tokenToId(END_OF_TEXT));
    const first = splitBundledCorpora().test[0]!.text;
    const decoded = tokenizer.decode(Array.from(tokens.subarray(1)));
    // Either the stream ends inside the first document or that document is complete before the next separator.
    const head = decoded.split(END_OF_TEXT)[0]!;
    expect(first.startsWith(head.slice(0, -20)) || head === first).toBe(true);
    expect(head.length).toBeGreaterThan(1000);
  });

  it('is deterministic and a shorter stream is a prefix of a longer one', () => {
    const a = evaluationTokens(tokenizer, 500);
    const b = evaluationTokens(tokenizer, 1500);
    expect(Array.from(b.subarray(0, 480))).toEqual(Array.from(a.subarray(0, 480)));
    expect(() => evaluationTokens(tokenizer, 1)).toThrow(/maxTokens/);
  });
});
