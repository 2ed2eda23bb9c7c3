import { z } from 'zod';

/**
 * Added tokens of tokenizer.json: strings matched verbatim in the input before
 * normalization and pre-tokenization (`<s>`, `<|endoftext|>`, `[CLS]`, ...), with the
 * flags of the `tokenizers` crate: `lstrip`/`rstrip` swallow the whitespace on that
 * side, `single_word` matches only when not inside a word, `normalized` matches
 * against the normalized text instead of the raw input, `special` lets decoding skip it.
 */
export const addedTokenSchema = z.object({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().default(false),
  lstrip: z.boolean().default(false),
  rstrip: z.boolean().default(false),
  normalized: z.boolean().optional(),
  special: z.boolean().default(false),
});

export interface AddedTokenSpec {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly singleWord: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  /** Matched in the normalized text (default: not special). */
  readonly normalized: boolean;
}

export function toAddedTokenSpec(json: z.output<typeof addedTokenSchema>): AddedTokenSpec {
  return {
    id: json.id,
    content: json.content,
    special: json.special,
    singleWord: json.single_word,
    lstrip: json.lstrip,
    rstrip: json.rstrip,
    normalized: json.normalized ?? !json.special,
  };
}

/** A run of input: ordinary text, or one occurrence of an added token. */
export interface Section {
  readonly text: string;
  readonly token: AddedTokenSpec | null;
}

interface TrieNode {
  token: AddedTokenSpec | null;
  readonly children: Map<string, TrieNode>;
}

const WORD_CHAR = /[\p{L}\p{N}_\p{M}]/u;

/**
 * Finds added tokens in text: scanning left to right, the longest token that starts
 * at each position wins (the rule of @huggingface/tokenizers and of the crate's
 * leftmost-longest matcher), then strips whitespace next to `lstrip`/`rstrip` tokens.
 */
export class AddedTokenSplitter {
  private readonly root: TrieNode = { token: null, children: new Map() };
  private readonly firstChars = new Set<string>();
  private readonly candidates: RegExp;
  readonly isEmpty: boolean;

  /** `contentOf` gives the string to match for each token (its content, or its normalized content). */
  constructor(tokens: readonly AddedTokenSpec[], contentOf: (token: AddedTokenSpec) => string = (token) => token.content) {
    for (const token of tokens) {
      const content = contentOf(token);
      if (content.length === 0) continue;
      this.firstChars.add(content[0]);
      let node = this.root;
      for (const char of content) {
        let child = node.children.get(char);
        if (child === undefined) {
          child = { token: null, children: new Map() };
          node.children.set(char, child);
        }
        node = child;
      }
      // The first token listed for a content keeps it, as when the crate builds its matcher.
      node.token ??= token;
    }
    this.isEmpty = this.firstChars.size === 0;
    // Jumping between candidate first characters with a native search beats testing every character.
    this.candidates = new RegExp(`[${[...this.firstChars].map((char) => char.replace(/[\\\]^-]/g, '\\$&')).join('')}]`, 'g');
  }

  split(text: string): Section[] {
    if (this.isEmpty) return text.length > 0 ? [{ text, token: null }] : [];
    const sections: { text: string; token: AddedTokenSpec | null }[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      this.candidates.lastIndex = i;
      const candidate = this.candidates.exec(text);
      if (candidate === null) break;
      i = candidate.index;
      const match = this.longestAt(text, i);
      if (match === null) {
        i++;
        continue;
      }
      if (i > start) sections.push({ text: text.slice(start, i), token: null });
      sections.push({ text: text.slice(i, match.end), token: match.token });
      i = match.end;
      start = i;
    }
    if (start < text.length) sections.push({ text: text.slice(start), token: null });
    // lstrip/rstrip: the whitespace beside the token belongs to it and disappears.
    for (let k = 0; k < sections.length; k++) {
      const token = sections[k].token;
      if (token === null) continue;
      if (token.lstrip && k > 0 && sections[k - 1].token === null) sections[k - 1].text = sections[k - 1].text.trimEnd();
      if (token.rstrip && k + 1 < sections.length && sections[k + 1].token === null) sections[k + 1].text = sections[k + 1].text.trimStart();
    }
    return sections;
  }

  private longestAt(text: string, start: number): { token: AddedTokenSpec; end: number } | null {
    let node: TrieNode | undefined = this.root;
    let found: { token: AddedTokenSpec; end: number } | null = null;
    for (let j = start; j < text.length; ) {
      const char = String.fromCodePoint(text.codePointAt(j) as number);
      node = node.children.get(char);
      if (node === undefined) break;
      j += char.length;
      if (node.token !== null) found = { token: node.token, end: j };
    }
    if (found === null || !found.token.singleWord) return found;
    // single_word: no word character may touch the match on either side.
    const before = start > 0 ? String.fromCodePoint(text.codePointAt(start - 1 - (isLowSurrogate(text, start - 1) ? 1 : 0)) as number) : '';
    const after = found.end < text.length ? String.fromCodePoint(text.codePointAt(found.end) as number) : '';
    return WORD_CHAR.test(before) || WORD_CHAR.test(after) ? null : found;
  }
}

function isLowSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return index > 0 && code >= 0xdc00 && code <= 0xdfff;
}
