import { BYTE_TO_CHAR, bytesToSymbols, symbolsToBytes } from './byte-unicode';
import { MergeTable } from './merge-table';
import { mergeWord } from './merge-word';
import { forEachWord, splitSpecial } from './pretokenize';
import type { TextTokenizer } from './tokenizer';

export const END_OF_TEXT = '<|endoftext|>';

/** A token matched verbatim in the input before pre-tokenization (e.g. `<|endoftext|>`). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

/** Everything that defines a byte-level BPE tokenizer; what `tokenizer.json` stores. */
export interface BpeModel {
  /** Token string of each id: byte-level symbols, or an added token's content. */
  readonly tokens: readonly string[];
  /** Merges in rank order, as pairs of token strings. */
  readonly merges: readonly (readonly [string, string])[];
  readonly addedTokens: readonly AddedToken[];
  /** Hugging Face `ignore_merges`: a word that is itself a token is emitted whole. */
  readonly ignoreMerges?: boolean;
}

/** Words longer than this are not cached: they are rare and would bloat the cache. */
const MAX_CACHED_WORD_LENGTH = 256;
const MAX_CACHE_ENTRIES = 200_000;

// ignoreBOM keeps a leading U+FEFF, which is content here, not a byte-order mark.
const UTF8_DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Byte-level BPE tokenizer (Sennrich et al. 2016 over GPT-2's byte alphabet,
 * Radford et al. 2019). Encoding matches `@huggingface/tokenizers` loading the
 * same model from `tokenizer.json`.
 */
export class BpeTokenizer implements TextTokenizer {
  readonly model: BpeModel;
  readonly vocabSize: number;
  private readonly idOf = new Map<string, number>();
  private readonly byteIds = new Int32Array(256);
  private readonly mergeTable: MergeTable;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedContents: string[];
  private readonly tokenBytes: Uint8Array[];
  private readonly wordCache = new Map<string, Int32Array>();
  private readonly utf8 = new TextEncoder();

  constructor(model: BpeModel) {
    this.model = model;
    this.vocabSize = model.tokens.length;
    model.tokens.forEach((token, id) => {
      if (this.idOf.has(token)) throw new Error(`token ${JSON.stringify(token)} appears twice (ids ${this.idOf.get(token)} and ${id})`);
      this.idOf.set(token, id);
    });
    for (const added of model.addedTokens) {
      if (model.tokens[added.id] !== added.content) {
        throw new Error(`added token ${JSON.stringify(added.content)} must be token ${added.id}, found ${JSON.stringify(model.tokens[added.id])}`);
      }
      this.addedById.set(added.id, added);
    }
    this.addedContents = model.addedTokens.map((added) => added.content);
    for (let byte = 0; byte < 256; byte++) this.byteIds[byte] = this.requireId(BYTE_TO_CHAR[byte], `byte 0x${byte.toString(16)}`);
    this.mergeTable = new MergeTable(
      model.merges.map(([left, right], rank) => [
        this.requireId(left, `left part of merge ${rank}`),
        this.requireId(right, `right part of merge ${rank}`),
        this.requireId(left + right, `result of merge ${rank}`),
      ]),
    );
    this.tokenBytes = model.tokens.map((token, id) =>
      this.addedById.has(id) ? this.utf8.encode(token) : symbolsToBytes(token),
    );
  }

  /** Id of a token string (byte-level symbols or added-token content), if any. */
  tokenToId(token: string): number | undefined {
    return this.idOf.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.model.tokens[id];
  }

  /** Id of `<|endoftext|>`, the document separator (and BOS/EOS). */
  get endOfTextId(): number {
    return this.requireId(END_OF_TEXT, 'the document separator');
  }

  /** Ids of `text`; occurrences of added tokens (e.g. `<|endoftext|>`) become their ids, as in Hugging Face. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const segment of splitSpecial(text, this.addedContents)) {
      if (segment.special) ids.push(this.idOf.get(segment.text) as number);
      else this.encodeOrdinaryInto(segment.text, ids);
    }
    return ids;
  }

  /** Ids of `text` treating added-token strings as plain text (for untrusted input). */
  encodeOrdinary(text: string): number[] {
    const ids: number[] = [];
    this.encodeOrdinaryInto(text, ids);
    return ids;
  }

  /** One token stream for training: each document preceded by `<|endoftext|>`, contents encoded ordinarily. */
  encodeDocuments(texts: Iterable<string>): Int32Array {
    const separator = this.endOfTextId;
    const ids: number[] = [];
    for (const text of texts) {
      ids.push(separator);
      this.encodeOrdinaryInto(text, ids);
    }
    return Int32Array.from(ids);
  }

  /** Raw bytes the ids stand for (added tokens as their UTF-8 content). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let length = 0;
    for (let i = 0; i < ids.length; i++) length += this.bytesOf(ids[i]).length;
    const out = new Uint8Array(length);
    for (let i = 0, offset = 0; i < ids.length; i++) {
      const bytes = this.bytesOf(ids[i]);
      out.set(bytes, offset);
      offset += bytes.length;
    }
    return out;
  }

  /** Text of the ids; invalid UTF-8 (possible for arbitrary id sequences) becomes U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    return UTF8_DECODER.decode(this.decodeBytes(ids));
  }

  private bytesOf(id: number): Uint8Array {
    const bytes = this.tokenBytes[id];
    if (bytes === undefined) throw new RangeError(`token id ${id} is outside the vocabulary of ${this.vocabSize}`);
    return bytes;
  }

  private encodeOrdinaryInto(text: string, ids: number[]): void {
    forEachWord(text, (word) => {
      const pieces = this.encodeWord(word);
      for (let i = 0; i < pieces.length; i++) ids.push(pieces[i]);
    });
  }

  private encodeWord(word: string): Int32Array {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) return cached;
    const bytes = this.utf8.encode(word);
    const whole = this.model.ignoreMerges ? this.idOf.get(bytesToSymbols(bytes)) : undefined;
    let pieces: Int32Array;
    if (whole !== undefined && !this.addedById.has(whole)) {
      pieces = Int32Array.of(whole);
    } else {
      const symbols = new Int32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) symbols[i] = this.byteIds[bytes[i]];
      pieces = mergeWord(symbols, this.mergeTable);
    }
    if (word.length <= MAX_CACHED_WORD_LENGTH) {
      if (this.wordCache.size >= MAX_CACHE_ENTRIES) this.wordCache.clear();
      this.wordCache.set(word, pieces);
    }
    return pieces;
  }

  private requireId(token: string, what: string): number {
    const id = this.idOf.get(token);
    if (id === undefined) throw new Error(`${what} (${JSON.stringify(token)}) is not in the vocabulary`);
    return id;
  }
}
