import { z } from 'zod';
import { addedTokenSchema, AddedTokenSplitter, toAddedTokenSpec, type AddedTokenSpec } from './added-tokens';
import { BpeTokenModel } from './bpe-token-model';
import { cleanUpTokenization, parseDecoder, type Decoder } from './decoders';
import { parseNormalizer, type Normalizer } from './normalizers';
import { parsePostProcessor, type PostProcessor } from './post-processors';
import { parsePreTokenizer, type PreTokenizer } from './pre-tokenizers';
import type { TokenModel } from './token-model';
import { componentType, readComponent, TokenizerJsonError, unsupported } from './tokenizer-json-error';
import { UnigramTokenModel } from './unigram-token-model';
import { WordLevelTokenModel } from './word-level-token-model';
import { WordPieceTokenModel } from './word-piece-token-model';

/** What callers that only encode and decode need; {@link Tokenizer} and `BpeTokenizer` both provide it. */
export interface TextTokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  encodeOrdinary(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

export interface EncodeOptions {
  /** Add the post-processor's special tokens (BOS, [CLS]/[SEP], ...); default true, as in Hugging Face. */
  readonly addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out added tokens marked special; default false. */
  readonly skipSpecialTokens?: boolean;
  /** transformers' `clean_up_tokenization_spaces` (" ." -> "."); default false, so decoding gives back the text. */
  readonly cleanUpTokenizationSpaces?: boolean;
}

const fileSchema = z.object({
  version: z.string().optional(),
  truncation: z.unknown().optional(),
  padding: z.unknown().optional(),
  added_tokens: z.array(addedTokenSchema).default([]),
  normalizer: z.unknown().optional(),
  pre_tokenizer: z.unknown().optional(),
  post_processor: z.unknown().optional(),
  decoder: z.unknown().optional(),
  model: z.unknown(),
});

function parseModel(json: unknown): TokenModel {
  // Old files omit model.type; the crate then tells the kinds apart by their fields.
  const inferred =
    typeof json === 'object' && json !== null && !('type' in json)
      ? Array.isArray((json as { vocab?: unknown }).vocab)
        ? 'Unigram'
        : 'merges' in json
          ? 'BPE'
          : 'WordPiece'
      : componentType(json, 'model');
  switch (inferred) {
    case 'BPE':
      return new BpeTokenModel(json);
    case 'WordPiece':
      return new WordPieceTokenModel(json);
    case 'Unigram':
      return new UnigramTokenModel(json);
    case 'WordLevel':
      return new WordLevelTokenModel(json);
    default:
      throw unsupported('model', inferred);
  }
}

/**
 * A tokenizer loaded from any Hugging Face `tokenizer.json`: added tokens, normalizer,
 * pre-tokenizer, model (BPE, WordPiece, Unigram, WordLevel), post-processor and
 * decoder, run in the order of the `tokenizers` crate. Ids and decoded text equal those
 * of @huggingface/tokenizers for the same file, except where README's Tokenizers
 * section says we follow the Rust crate instead.
 */
export class Tokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly addedTokens: readonly AddedTokenSpec[];
  readonly model: TokenModel;
  private readonly normalizer: Normalizer;
  private readonly hasNormalizer: boolean;
  private readonly preTokenizer: PreTokenizer;
  private readonly postProcessor: PostProcessor;
  private readonly decoder: Decoder | null;
  private readonly rawSplitter: AddedTokenSplitter;
  private readonly normalizedSplitter: AddedTokenSplitter;
  private readonly tokens: (string | undefined)[];
  private readonly addedById = new Map<number, AddedTokenSpec>();
  private readonly addedByContent = new Map<string, AddedTokenSpec>();

  constructor(json: unknown) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TokenizerJsonError('the file must hold a JSON object');
    const file = readComponent(fileSchema, json, '');
    this.model = parseModel(file.model);
    this.hasNormalizer = file.normalizer !== null && file.normalizer !== undefined;
    this.normalizer = parseNormalizer(file.normalizer);
    this.preTokenizer = parsePreTokenizer(file.pre_tokenizer, 'pre_tokenizer', this.model.acceptsRawBytes);
    this.postProcessor = parsePostProcessor(file.post_processor);
    this.addedTokens = file.added_tokens.map(toAddedTokenSpec);
    this.decoder = parseDecoder(file.decoder, { addedContents: new Set(this.addedTokens.map((token) => token.content)) });

    this.tokens = [];
    for (const [token, id] of this.model.vocab) this.tokens[id] = token;
    for (const token of this.addedTokens) {
      this.tokens[token.id] = token.content;
      this.addedById.set(token.id, token);
      if (!this.addedByContent.has(token.content)) this.addedByContent.set(token.content, token);
    }
    this.vocabSize = this.tokens.length;
    for (const id of this.postProcessor.singleAround.before.concat(this.postProcessor.singleAround.after)) {
      if (this.tokens[id] === undefined) throw new TokenizerJsonError(`post_processor adds token id ${id}, which is neither in model.vocab nor in added_tokens`);
    }
    const normalizedMatch = this.hasNormalizer ? (token: AddedTokenSpec) => token.normalized : () => false;
    this.rawSplitter = new AddedTokenSplitter(this.addedTokens.filter((token) => !normalizedMatch(token)));
    this.normalizedSplitter = new AddedTokenSplitter(this.addedTokens.filter(normalizedMatch), (token) => this.normalizer(token.content));
  }

  /** Ids of `text`; added tokens found in it become their ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    const sections = this.rawSplitter.split(text);
    for (let s = 0; s < sections.length; s++) {
      const section = sections[s];
      if (section.token !== null) {
        ids.push(section.token.id);
        continue;
      }
      if (section.text.length === 0) continue;
      const normalized = this.normalizer(section.text);
      if (normalized.length === 0) continue;
      const inner = this.normalizedSplitter.split(normalized);
      for (const piece of inner) {
        if (piece.token !== null) ids.push(piece.token.id);
        else if (piece.text.length > 0) this.model.encode(this.preTokenizer.split(piece.text, s), this.preTokenizer.bytesDeferred, ids);
      }
    }
    return options.addSpecialTokens === false ? ids : this.postProcessor.single(ids);
  }

  /**
   * Ids of `text` read as plain text: added-token strings are not matched (for untrusted
   * input) and no special tokens are added, like `BpeTokenizer.encodeOrdinary`.
   */
  encodeOrdinary(text: string): number[] {
    const ids: number[] = [];
    const normalized = this.normalizer(text);
    if (normalized.length > 0) this.model.encode(this.preTokenizer.split(normalized, 0), this.preTokenizer.bytesDeferred, ids);
    return ids;
  }

  /** Text of `ids`; throws a RangeError naming an id outside the vocabulary. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.tokens[id];
      if (token === undefined) throw new RangeError(`token id ${id} (position ${i}) is not in the vocabulary of ${this.vocabSize}`);
      if (options.skipSpecialTokens === true && this.addedById.get(id)?.special === true) continue;
      tokens.push(token);
    }
    const text = this.decoder === null ? tokens.join(' ') : this.decoder(tokens).join('');
    return options.cleanUpTokenizationSpaces === true ? cleanUpTokenization(text) : text;
  }

  /** Id of a token string (an added token's content first, then the model's vocabulary). */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** Special-token ids the post-processor puts before and after a single sequence (e.g. Llama's BOS). */
  get specialTokensAround(): { readonly before: readonly number[]; readonly after: readonly number[] } {
    return this.postProcessor.singleAround;
  }
}

/** Loads a parsed `tokenizer.json` object; errors name the component and value that are wrong or not supported. */
export function loadTokenizer(json: unknown): Tokenizer {
  return new Tokenizer(json);
}

/** Loads `tokenizer.json` text; invalid JSON is a {@link TokenizerJsonError} too. */
export function parseTokenizer(text: string): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenizerJsonError(`not valid JSON (${(error as Error).message})`);
  }
  return new Tokenizer(json);
}
