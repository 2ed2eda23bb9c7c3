import { z } from 'zod';
import { BpeTokenizer, END_OF_TEXT, type AddedToken, type BpeModel } from './bpe-tokenizer';

/**
 * Reading and writing the Hugging Face `tokenizer.json` layout for byte-level BPE
 * (the layout of GPT-2's file): no normalizer, ByteLevel pre-tokenizer with the
 * GPT-2 regex and no prefix space, BPE model with vocab and merges, ByteLevel
 * decoder, added tokens listed with their ids.
 */

const addedTokenSchema = z.object({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
  special: z.boolean().optional(),
});

const byteLevelSchema = z.object({
  type: z.literal('ByteLevel'),
  add_prefix_space: z.boolean().optional(),
  trim_offsets: z.boolean().optional(),
  use_regex: z.boolean().optional(),
});

/** Hugging Face writes absent affixes as null or "". */
const noAffix = z.union([z.null(), z.literal('')]).optional();

const tokenizerJsonSchema = z.object({
  version: z.string().optional(),
  added_tokens: z.array(addedTokenSchema).default([]),
  normalizer: z.null({ error: 'normalizers are not supported (expected "normalizer": null)' }),
  pre_tokenizer: byteLevelSchema,
  post_processor: z.union([z.null(), byteLevelSchema]).optional(),
  decoder: byteLevelSchema,
  model: z.object({
    type: z.literal('BPE'),
    dropout: z.null().optional(),
    unk_token: z.null().optional(),
    continuing_subword_prefix: noAffix,
    end_of_word_suffix: noAffix,
    fuse_unk: z.boolean().optional(),
    byte_fallback: z.literal(false).optional(),
    ignore_merges: z.boolean().optional(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.union([z.array(z.tuple([z.string(), z.string()])), z.array(z.string())]),
  }),
});

/** The JSON object written to `tokenizer.json`. */
export type TokenizerJson = z.input<typeof tokenizerJsonSchema>;

/** The Hugging Face `tokenizer.json` object for `tokenizer`. */
export function toTokenizerJson(tokenizer: BpeTokenizer): TokenizerJson {
  const { tokens, merges, addedTokens, ignoreMerges } = tokenizer.model;
  const byteLevel = { type: 'ByteLevel' as const, add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    added_tokens: addedTokens.map((added) => ({
      id: added.id,
      content: added.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: added.special,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: ignoreMerges ?? false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: merges.map(([left, right]): [string, string] => [left, right]),
    },
  };
}

/** `tokenizer_config.json` to go with {@link toTokenizerJson} (transformers.js reads both). */
export function toTokenizerConfigJson(tokenizer: BpeTokenizer): Record<string, unknown> {
  const hasEndOfText = tokenizer.tokenToId(END_OF_TEXT) !== undefined;
  return {
    tokenizer_class: 'GPT2Tokenizer',
    add_prefix_space: false,
    // Decoding must give back the exact text: no space clean-up.
    clean_up_tokenization_spaces: false,
    ...(hasEndOfText ? { bos_token: END_OF_TEXT, eos_token: END_OF_TEXT } : {}),
    model_max_length: 1_000_000_000,
  };
}

/** Parses a `tokenizer.json` object (e.g. from `JSON.parse`), rejecting settings we do not implement. */
export function fromTokenizerJson(json: unknown): BpeTokenizer {
  const parsed = tokenizerJsonSchema.safeParse(json);
  if (!parsed.success) throw new Error(`unsupported or invalid tokenizer.json: ${z.prettifyError(parsed.error)}`);
  const { model, pre_tokenizer: pre, added_tokens: added } = parsed.data;
  if (pre.add_prefix_space === true) throw new Error('unsupported tokenizer.json: pre_tokenizer.add_prefix_space must be false');
  if (pre.use_regex === false) throw new Error('unsupported tokenizer.json: pre_tokenizer.use_regex must be true');

  const tokens: (string | undefined)[] = [];
  const place = (token: string, id: number): void => {
    const existing = tokens[id];
    if (existing !== undefined && existing !== token) {
      throw new Error(`invalid tokenizer.json: id ${id} is both ${JSON.stringify(existing)} and ${JSON.stringify(token)}`);
    }
    tokens[id] = token;
  };
  for (const [token, id] of Object.entries(model.vocab)) place(token, id);
  for (const token of added) place(token.content, token.id);
  const missing = tokens.findIndex((token) => token === undefined);
  if (missing >= 0) throw new Error(`invalid tokenizer.json: no token has id ${missing} (ids must be 0..${tokens.length - 1})`);
  const stripping = added.find((token) => token.lstrip === true || token.rstrip === true || token.single_word === true);
  if (stripping !== undefined) {
    throw new Error(`unsupported tokenizer.json: added token ${JSON.stringify(stripping.content)} uses lstrip/rstrip/single_word`);
  }

  const merges = model.merges.map((merge, rank): [string, string] => {
    if (Array.isArray(merge)) return [merge[0], merge[1]];
    const parts = merge.split(' ');
    if (parts.length !== 2) throw new Error(`invalid tokenizer.json: merge ${rank} ${JSON.stringify(merge)} is not two tokens separated by one space`);
    return [parts[0], parts[1]];
  });
  const addedTokens: AddedToken[] = added.map((token) => ({ id: token.id, content: token.content, special: token.special ?? false }));
  const bpeModel: BpeModel = { tokens: tokens as string[], merges, addedTokens, ignoreMerges: model.ignore_merges ?? false };
  return new BpeTokenizer(bpeModel);
}
