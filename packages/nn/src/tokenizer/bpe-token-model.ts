import { z } from 'zod';
import { BYTE_TO_CHAR, bytesToSymbols } from './byte-unicode';
import { MergeTable } from './merge-table';
import { mergeWord } from './merge-word';
import { byteFallbackToken, type TokenModel } from './token-model';
import { readComponent, readVocab, TokenizerJsonError } from './tokenizer-json-error';

/** Hugging Face writes absent affixes as null or "". */
const affix = z.string().nullable().optional();

const bpeSchema = z.object({
  type: z.literal('BPE').optional(),
  dropout: z.number().min(0).max(1).nullable().optional(),
  unk_token: z.string().nullable().optional(),
  continuing_subword_prefix: affix,
  end_of_word_suffix: affix,
  fuse_unk: z.boolean().default(false),
  byte_fallback: z.boolean().default(false),
  ignore_merges: z.boolean().default(false),
  // vocab and merges are checked by hand below (zod is too slow on real vocabularies).
  vocab: z.unknown(),
  merges: z.array(z.unknown()),
});

const MAX_CACHED_WORD_LENGTH = 256;
const MAX_CACHE_ENTRIES = 200_000;
const utf8 = new TextEncoder();

/**
 * BPE (Sennrich et al. 2016) as the `tokenizers` crate runs it: each character of a
 * word becomes a symbol (with the continuing-subword prefix and end-of-word suffix
 * where set), characters outside the vocabulary become SentencePiece byte tokens
 * (`byte_fallback`) or the unknown token (runs fused with `fuse_unk`), then the
 * ranked merges apply, lowest rank first, leftmost on ties. Byte-level vocabularies
 * (GPT-2, Radford et al. 2019) take words as raw text and map UTF-8 bytes straight to
 * symbol ids.
 */
export class BpeTokenModel implements TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string | null;
  readonly acceptsRawBytes: boolean;
  private readonly unkId: number;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly prefix: string;
  private readonly suffix: string;
  private readonly byteFallback: Int32Array | null;
  private readonly byteSymbolIds: Int32Array | null;
  private readonly merges: MergeTable;
  private readonly cache = new Map<string, Int32Array>();

  constructor(json: unknown, path = 'model') {
    const config = readComponent(bpeSchema, json, path);
    if (config.dropout !== null && config.dropout !== undefined && config.dropout > 0) {
      throw new TokenizerJsonError(`${path}.dropout ${config.dropout} is not supported (BPE dropout is for training; set it to null)`);
    }
    const vocab = readVocab(config.vocab, `${path}.vocab`);
    this.vocab = vocab;
    this.unkToken = config.unk_token ?? null;
    this.unkId = -1;
    if (this.unkToken !== null) {
      const id = vocab.get(this.unkToken);
      if (id === undefined) throw new TokenizerJsonError(`${path}.unk_token ${JSON.stringify(this.unkToken)} is not in ${path}.vocab`);
      this.unkId = id;
    }
    this.fuseUnk = config.fuse_unk;
    this.ignoreMerges = config.ignore_merges;
    this.prefix = config.continuing_subword_prefix ?? '';
    this.suffix = config.end_of_word_suffix ?? '';

    if (config.byte_fallback) {
      this.byteFallback = new Int32Array(256).fill(-1);
      for (let byte = 0; byte < 256; byte++) this.byteFallback[byte] = vocab.get(byteFallbackToken(byte)) ?? -1;
    } else {
      this.byteFallback = null;
    }
    const byteIds = BYTE_TO_CHAR.map((symbol) => vocab.get(symbol) ?? -1);
    this.acceptsRawBytes = this.prefix === '' && this.suffix === '' && byteIds.every((id) => id >= 0);
    this.byteSymbolIds = this.acceptsRawBytes ? Int32Array.from(byteIds) : null;

    const prefixLength = this.prefix.length;
    const require = (token: string, what: string): number => {
      const id = vocab.get(token);
      if (id === undefined) throw new TokenizerJsonError(`${what} ${JSON.stringify(token)} is not in ${path}.vocab`);
      return id;
    };
    const triples = config.merges.map((merge, rank): [number, number, number] => {
      let left: string;
      let right: string;
      if (Array.isArray(merge) && merge.length === 2 && typeof merge[0] === 'string' && typeof merge[1] === 'string') {
        [left, right] = merge as [string, string];
      } else if (typeof merge === 'string') {
        const space = merge.indexOf(' ');
        if (space <= 0 || space === merge.length - 1 || merge.indexOf(' ', space + 1) >= 0) {
          throw new TokenizerJsonError(`${path}.merges[${rank}] ${JSON.stringify(merge)} is not two tokens separated by one space`);
        }
        left = merge.slice(0, space);
        right = merge.slice(space + 1);
      } else {
        throw new TokenizerJsonError(`${path}.merges[${rank}] must be "left right" or ["left", "right"], got ${JSON.stringify(merge)}`);
      }
      return [
        require(left, `${path}.merges[${rank}]: left part`),
        require(right, `${path}.merges[${rank}]: right part`),
        require(left + right.slice(prefixLength), `${path}.merges[${rank}]: result`),
      ];
    });
    this.merges = new MergeTable(triples);
  }

  encode(pieces: readonly string[], rawBytes: boolean, out: number[]): void {
    for (let p = 0; p < pieces.length; p++) {
      const ids = this.encodeWord(pieces[p], rawBytes);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  private encodeWord(word: string, rawBytes: boolean): Int32Array {
    const cacheable = word.length <= MAX_CACHED_WORD_LENGTH;
    if (cacheable) {
      const cached = this.cache.get(word);
      if (cached !== undefined) return cached;
    }
    let ids: Int32Array;
    if (rawBytes) {
      const bytes = utf8.encode(word);
      const whole = this.ignoreMerges ? this.vocab.get(bytesToSymbols(bytes)) : undefined;
      if (whole !== undefined) {
        ids = Int32Array.of(whole);
      } else {
        const symbols = new Int32Array(bytes.length);
        const table = this.byteSymbolIds as Int32Array;
        for (let i = 0; i < bytes.length; i++) symbols[i] = table[bytes[i]];
        ids = mergeWord(symbols, this.merges);
      }
    } else {
      const whole = this.ignoreMerges ? this.vocab.get(word) : undefined;
      ids = whole !== undefined ? Int32Array.of(whole) : mergeWord(this.symbolsOf(word), this.merges);
    }
    if (cacheable) {
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  /** Initial symbols of a word: one per character, or its byte tokens, or the unknown token. */
  private symbolsOf(word: string): Int32Array {
    const symbols: number[] = [];
    let previousUnknown = false;
    let index = 0;
    for (const char of word) {
      const first = index === 0;
      index += char.length;
      const last = index === word.length;
      let key = char;
      if (!first && this.prefix !== '') key = this.prefix + key;
      if (last && this.suffix !== '') key += this.suffix;
      const id = this.vocab.get(key);
      if (id !== undefined) {
        symbols.push(id);
        previousUnknown = false;
        continue;
      }
      if (this.byteFallback !== null) {
        const bytes = utf8.encode(char);
        let all = true;
        for (let i = 0; i < bytes.length && all; i++) all = this.byteFallback[bytes[i]] >= 0;
        if (all) {
          for (let i = 0; i < bytes.length; i++) symbols.push(this.byteFallback[bytes[i]]);
          previousUnknown = false;
          continue;
        }
      }
      if (this.unkId >= 0) {
        if (!(this.fuseUnk && previousUnknown)) symbols.push(this.unkId);
        previousUnknown = true;
      }
    }
    return Int32Array.from(symbols);
  }
}
