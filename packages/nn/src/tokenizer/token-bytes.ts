import { BpeTokenizer } from './bpe-tokenizer';
import { CHAR_TO_BYTE } from './byte-unicode';
import { Tokenizer, type TextTokenizer } from './tokenizer';
import { byteFallbackToken } from './token-model';

const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x[0-9A-F]{2}>$/;

/** A character outside the byte alphabet stands for itself, as the ByteLevel decoder reads it. */
function byteLevelLength(token: string): number {
  let n = 0;
  for (const char of token) n += CHAR_TO_BYTE.has(char) ? 1 : utf8.encode(char).byteLength;
  return n;
}

/**
 * UTF-8 bytes of text each token stands for (bits per byte divides by their sum). Byte-level
 * symbols and SentencePiece byte tokens count their bytes exactly, so a character cut across
 * tokens is not counted as U+FFFD; other tokens count what they add to decoded text when they
 * follow themselves, which keeps a word-initial space that a decoder strips at the start.
 */
export function tokenByteLengths(tokenizer: TextTokenizer): Uint32Array {
  const out = new Uint32Array(tokenizer.vocabSize);
  if (tokenizer instanceof BpeTokenizer) {
    for (let id = 0; id < out.length; id++) out[id] = tokenizer.decodeBytes([id]).byteLength;
    return out;
  }
  const byteLevel = tokenizer instanceof Tokenizer && tokenizer.model.acceptsRawBytes;
  const added = new Set(tokenizer instanceof Tokenizer ? tokenizer.addedTokens.map((token) => token.id) : []);
  for (let id = 0; id < out.length; id++) {
    const token = tokenizer.idToToken(id);
    if (token === undefined) continue;
    if (added.has(id)) out[id] = utf8.encode(token).byteLength;
    else if (byteLevel) out[id] = byteLevelLength(token);
    else if (BYTE_TOKEN.test(token) && token === byteFallbackToken(Number.parseInt(token.slice(3, 5), 16))) out[id] = 1;
    else out[id] = Math.max(0, utf8.encode(tokenizer.decode([id, id])).byteLength - utf8.encode(tokenizer.decode([id])).byteLength);
  }
  return out;
}
