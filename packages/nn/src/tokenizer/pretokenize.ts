/**
 * Pre-tokenization: cutting text into words before BPE, so merges never cross a
 * word boundary. Uses the GPT-2 pattern (Radford et al. 2019) exactly as the
 * Hugging Face ByteLevel pre-tokenizer does with `use_regex: true` and
 * `add_prefix_space: false`. `\s` is JavaScript's whitespace class, as in
 * @huggingface/tokenizers (the Rust crate's Oniguruma class differs on a few code
 * points such as U+0085 and U+FEFF).
 *
 * Every code point matches one of the alternatives (letter, number, whitespace or
 * "other"), so the words always concatenate back to the input: the split is lossless.
 */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Words of `text` in order; their concatenation equals `text`. */
export function splitWords(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}

/** Calls `visit` for each word of `text` in order, without building an array. */
export function forEachWord(text: string, visit: (word: string) => void): void {
  const pattern = new RegExp(GPT2_PATTERN.source, GPT2_PATTERN.flags);
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) visit(match[0]);
}

/** A piece of input: either ordinary text or one occurrence of a special token. */
export interface TextSegment {
  readonly special: boolean;
  readonly text: string;
}

/**
 * Cuts `text` around occurrences of the special tokens, scanning left to right and
 * taking the longest special token that starts at each position (the rule of the
 * Hugging Face added-token splitter), so that both libraries agree on which
 * occurrences are special.
 */
export function splitSpecial(text: string, specialTokens: readonly string[]): TextSegment[] {
  const candidates = specialTokens.filter((token) => token.length > 0);
  if (candidates.length === 0 || text.length === 0) return text.length === 0 ? [] : [{ special: false, text }];
  const byFirstChar = new Map<string, string[]>();
  for (const token of candidates) {
    const list = byFirstChar.get(token[0]) ?? [];
    list.push(token);
    byFirstChar.set(token[0], list);
  }
  for (const list of byFirstChar.values()) list.sort((a, b) => b.length - a.length);

  const segments: TextSegment[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const match = byFirstChar.get(text[i])?.find((token) => text.startsWith(token, i));
    if (match === undefined) {
      i++;
      continue;
    }
    if (i > start) segments.push({ special: false, text: text.slice(start, i) });
    segments.push({ special: true, text: match });
    i += match.length;
    start = i;
  }
  if (start < text.length) segments.push({ special: false, text: text.slice(start) });
  return segments;
}
