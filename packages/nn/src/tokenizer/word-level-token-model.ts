import { z } from 'zod';
import type { TokenModel } from './token-model';
import { readComponent, readVocab, TokenizerJsonError } from './tokenizer-json-error';

const wordLevelSchema = z.object({
  type: z.literal('WordLevel').optional(),
  unk_token: z.string().nullable().optional(),
  vocab: z.unknown(),
});

/** WordLevel: each pre-tokenized word is one token, or the unknown token when the vocabulary lacks it. */
export class WordLevelTokenModel implements TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string | null;
  readonly acceptsRawBytes = false;
  private readonly unkId: number;

  constructor(json: unknown, path = 'model') {
    const config = readComponent(wordLevelSchema, json, path);
    this.vocab = readVocab(config.vocab, `${path}.vocab`);
    this.unkToken = config.unk_token ?? null;
    this.unkId = -1;
    if (this.unkToken !== null) {
      const id = this.vocab.get(this.unkToken);
      if (id === undefined) throw new TokenizerJsonError(`${path}.unk_token ${JSON.stringify(this.unkToken)} is not in ${path}.vocab`);
      this.unkId = id;
    }
  }

  encode(pieces: readonly string[], _rawBytes: boolean, out: number[]): void {
    for (const word of pieces) {
      const id = this.vocab.get(word) ?? this.unkId;
      // The crate fails the same way: without an unknown token there is no id to give.
      if (id < 0) throw new RangeError(`word ${JSON.stringify(word)} is not in the WordLevel vocabulary and the model has no unk_token`);
      out.push(id);
    }
  }
}
