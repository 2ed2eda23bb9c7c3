/**
 * GPT-2's reversible byte <-> unicode mapping (Radford et al. 2019): every byte
 * becomes one printable code point so that byte sequences can be stored as JSON
 * strings in `tokenizer.json`. Printable Latin-1 bytes map to themselves; the 68
 * others (controls, space, NBSP, soft hyphen) map, in byte order, to U+0100.. .
 */

function isPrintableLatin1(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteToChar(): readonly string[] {
  const table: string[] = new Array(256);
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCharCode(isPrintableLatin1(byte) ? byte : 256 + shifted++);
  }
  return table;
}

/** `BYTE_TO_CHAR[b]` is the one-character string standing for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of {@link BYTE_TO_CHAR}. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

/** Byte-level symbol string of raw bytes, e.g. [0x20, 0x61] -> "Ġa". */
export function bytesToSymbols(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]];
  return out;
}

/** Raw bytes of a byte-level symbol string; throws on a character outside the mapping. */
export function symbolsToBytes(symbols: string): Uint8Array {
  const out = new Uint8Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) {
    const byte = CHAR_TO_BYTE.get(symbols[i]);
    if (byte === undefined) throw new Error(`not a byte-level symbol: ${JSON.stringify(symbols[i])} in ${JSON.stringify(symbols)}`);
    out[i] = byte;
  }
  return out;
}
