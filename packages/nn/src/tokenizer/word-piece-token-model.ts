import { z } from 'zod';
import type { TokenModel } from './token-model';
import { readComponent, readVocab, TokenizerJsonError } from './tokenizer-json-error';

const wordPieceSchema = z.object({
  type: z.literal('WordPiece').optional(),
  unk_token: z.string().default('[UNK]'),
  continuing_subword_prefix: z.string().default('##'),
  max_input_chars_per_word: z.number().int().positive().default(100),
  vocab: z.unknown(),
});

/**
 * WordPiece as BERT runs it (Devlin et al. 2019; greedy longest-match-first in the
 * reference `WordpieceTokenizer`): take the longest vocabulary entry at the start of
 * the word, then the longest `##`-prefixed entry after it, and so on; a word with an
 * unmatched rest, or longer than `max_input_chars_per_word`, becomes the unknown token.
 */
export class WordPieceTokenModel implements TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string;
  readonly acceptsRawBytes = false;
  private readonly unkId: number;
  private readonly prefix: string;
  private readonly maxChars: number;

  constructor(json: unknown, path = 'model') {
    const config = readComponent(wordPieceSchema, json, path);
    this.vocab = readVocab(config.vocab, `${path}.vocab`);
    this.unkToken = config.unk_token;
    const unkId = this.vocab.get(config.unk_token);
    if (unkId === undefined) throw new TokenizerJsonError(`${path}.unk_token ${JSON.stringify(config.unk_token)} is not in ${path}.vocab`);
    this.unkId = unkId;
    this.prefix = config.continuing_subword_prefix;
    this.maxChars = config.max_input_chars_per_word;
  }

  encode(pieces: readonly string[], _rawBytes: boolean, out: number[]): void {
    for (const word of pieces) this.encodeWord(word, out);
  }

  private encodeWord(word: string, out: number[]): void {
    const chars = Array.from(word);
    if (chars.length > this.maxChars) {
      out.push(this.unkId);
      return;
    }
    const found: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let id: number | undefined;
      for (; end > start; end--) {
        const piece = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        id = this.vocab.get(piece);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        out.push(this.unkId);
        return;
      }
      found.push(id);
      start = end;
    }
    for (const id of found) out.push(id);
  }
}
