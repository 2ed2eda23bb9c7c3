/**
 * Translates the Oniguruma regular expressions stored in `tokenizer.json` (the Rust
 * `tokenizers` crate compiles them with Oniguruma) into JavaScript `RegExp`s with the
 * `u` flag. JavaScript lacks inline flag groups `(?i:...)`, atomic groups and
 * possessive quantifiers, and its `\s`, `\d`, `\w` and `.` mean other things; each is
 * rewritten to what Oniguruma means by it (Unicode White_Space, decimal numbers, word
 * characters, "anything but a newline"), as @huggingface/tokenizers does too.
 * What cannot be expressed (nested classes, class intersections, POSIX brackets)
 * fails with an error naming the construct and its position.
 */

const WORD_CHARS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}';
const WORD_CLASS = `[${WORD_CHARS}]`;
const NON_WORD_CLASS = `[^${WORD_CHARS}]`;
const HEX = '0-9A-Fa-f';

const ESCAPES: Readonly<Record<string, string>> = {
  s: '\\p{White_Space}',
  S: '\\P{White_Space}',
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: WORD_CLASS,
  W: NON_WORD_CLASS,
  h: `[${HEX}]`,
  H: `[^${HEX}]`,
  b: `(?:(?<!${WORD_CLASS})(?=${WORD_CLASS})|(?<=${WORD_CLASS})(?!${WORD_CLASS}))`,
  B: `(?:(?<!${WORD_CLASS})(?!${WORD_CLASS})|(?<=${WORD_CLASS})(?=${WORD_CLASS}))`,
  A: '(?<![\\s\\S])',
  z: '(?![\\s\\S])',
  Z: '(?=\\n?(?![\\s\\S]))',
  a: '\\x07',
  e: '\\x1B',
};

const CLASS_ESCAPES: Readonly<Record<string, string>> = {
  s: '\\p{White_Space}',
  S: '\\P{White_Space}',
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: WORD_CHARS,
  h: HEX,
  a: '\\x07',
  e: '\\x1B',
};

/** Characters that must stay escaped in a JavaScript `u` pattern; any other escaped punctuation loses its backslash. */
const SYNTAX = '^$\\.*+?()[]{}|/-';

export class RegexTranslationError extends Error {}

/** `\p{Name}`: Oniguruma accepts bare script names (`\p{Han}`); JavaScript needs `Script=Han`. */
function propertyEscape(kind: string, name: string): string {
  try {
    new RegExp(`\\p{${name}}`, 'u');
    return `\\${kind}{${name}}`;
  } catch {
    try {
      new RegExp(`\\p{Script=${name}}`, 'u');
      return `\\${kind}{Script=${name}}`;
    } catch {
      throw new RegexTranslationError(`unknown Unicode property \\${kind}{${name}}`);
    }
  }
}

function isAsciiLetter(char: string): boolean {
  return (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z');
}

/** Reads a character class starting at `start` (the `[`); returns its JavaScript form and the index after `]`. */
function translateClass(source: string, start: number, foldCase: boolean): { atom: string; end: number } {
  let i = start + 1;
  let body = '';
  if (source[i] === '^') {
    body += '^';
    i++;
  }
  const first = i;
  while (i < source.length) {
    const char = String.fromCodePoint(source.codePointAt(i) as number);
    if (char === ']' && i > first) {
      let atom = `[${body}]`;
      if (foldCase) atom = foldClass(body);
      return { atom, end: i + 1 };
    }
    if (char === '[') {
      if (source.startsWith('[:', i)) throw new RegexTranslationError(`POSIX bracket expression at index ${i} is not supported`);
      throw new RegexTranslationError(`nested character class at index ${i} is not supported`);
    }
    if (char === '&' && source[i + 1] === '&') throw new RegexTranslationError(`character class intersection at index ${i} is not supported`);
    if (char === '\\') {
      const next = source[i + 1];
      if (next === undefined) throw new RegexTranslationError(`unterminated escape at index ${i}`);
      const braced = /^\\([pPx])\{([^}]*)\}/.exec(source.slice(i));
      if (braced) {
        body += braced[1] === 'x' ? `\\u{${braced[2]}}` : propertyEscape(braced[1], braced[2]);
        i += braced[0].length;
        continue;
      }
      const fixed = /^\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})/.exec(source.slice(i));
      if (fixed) {
        body += fixed[0];
        i += fixed[0].length;
        continue;
      }
      if (next === 'W' || next === 'H') throw new RegexTranslationError(`\\${next} inside a character class at index ${i} is not supported`);
      if (CLASS_ESCAPES[next] !== undefined) body += CLASS_ESCAPES[next];
      else if (/[A-Za-z0-9]/.test(next) || SYNTAX.includes(next)) body += `\\${next}`;
      else body += next;
      i += 2;
      continue;
    }
    if (char === '-' && (i === first || source[i + 1] === ']')) body += '\\-';
    else body += char;
    i += char.length;
  }
  throw new RegexTranslationError(`unterminated character class at index ${start}`);
}

/** A class under `(?i:...)`: adds the other case of every ASCII letter it holds (Oniguruma folds case; we only need ASCII). */
function foldClass(body: string): string {
  const negated = body.startsWith('^');
  const inner = negated ? body.slice(1) : body;
  const member = new RegExp(`^[${inner}]$`, 'u');
  let extra = '';
  for (let code = 65; code <= 90; code++) {
    const upper = String.fromCharCode(code);
    const lower = upper.toLowerCase();
    if (member.test(upper) !== member.test(lower)) extra += member.test(upper) ? lower : upper;
  }
  return `[${negated ? '^' : ''}${inner}${extra}]`;
}

/** JavaScript source equivalent to the Oniguruma pattern `source`. */
export function translateOniguruma(source: string): string {
  let out = '';
  let atomStart = -1;
  let afterQuantifier = false;
  let foldCase = false;
  const groups: { start: number; foldCase: boolean }[] = [];
  const atom = (text: string): void => {
    atomStart = out.length;
    out += text;
    afterQuantifier = false;
  };
  let i = 0;
  while (i < source.length) {
    const char = String.fromCodePoint(source.codePointAt(i) as number);
    if (char === '\\') {
      const next = source[i + 1];
      if (next === undefined) throw new RegexTranslationError(`unterminated escape at index ${i}`);
      const braced = /^\\([pPx])\{([^}]*)\}/.exec(source.slice(i));
      if (braced) {
        atom(braced[1] === 'x' ? `\\u{${braced[2]}}` : propertyEscape(braced[1], braced[2]));
        i += braced[0].length;
        continue;
      }
      const fixed = /^\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})/.exec(source.slice(i));
      if (fixed) {
        atom(fixed[0]);
        i += fixed[0].length;
        continue;
      }
      if (ESCAPES[next] !== undefined) atom(ESCAPES[next]);
      else if (foldCase && isAsciiLetter(next)) atom(`\\${next}`);
      else if (/[A-Za-z0-9]/.test(next) || (SYNTAX.includes(next) && next !== '-')) atom(`\\${next}`);
      else atom(next);
      i += 2;
      continue;
    }
    switch (char) {
      case '[': {
        const parsed = translateClass(source, i, foldCase);
        atom(parsed.atom);
        i = parsed.end;
        continue;
      }
      case '.':
        atom('[^\\n]');
        i++;
        continue;
      case '^':
        atom('(?:(?<![\\s\\S])|(?<=\\n))');
        i++;
        continue;
      case '$':
        atom('(?:(?=\\n)|(?![\\s\\S]))');
        i++;
        continue;
      case '(': {
        groups.push({ start: out.length, foldCase });
        if (source.startsWith('(?i:', i)) {
          foldCase = true;
          out += '(?:';
          i += 4;
        } else if (source.startsWith('(?>', i)) {
          // Atomic groups have no JavaScript form; the split patterns in tokenizer.json match the same text without atomicity.
          out += '(?:';
          i += 3;
        } else {
          const prefix = /^\(\?(?:<[=!]|<[A-Za-z_][A-Za-z0-9_]*>|[:=!])/.exec(source.slice(i))?.[0];
          if (prefix === undefined && source[i + 1] === '?') throw new RegexTranslationError(`group syntax ${JSON.stringify(source.slice(i, i + 4))} at index ${i} is not supported`);
          out += prefix ?? '(';
          i += (prefix ?? '(').length;
        }
        afterQuantifier = false;
        continue;
      }
      case ')': {
        const group = groups.pop();
        if (group === undefined) throw new RegexTranslationError(`unbalanced ")" at index ${i}`);
        out += ')';
        atomStart = group.start;
        foldCase = group.foldCase;
        afterQuantifier = false;
        i++;
        continue;
      }
      case '|':
        out += '|';
        atomStart = -1;
        afterQuantifier = false;
        i++;
        continue;
      case '{': {
        const quantifier = /^\{(\d+(?:,\d*)?|,\d+)\}/.exec(source.slice(i));
        if (quantifier === null || atomStart < 0) {
          atom('\\{');
          i++;
          continue;
        }
        const range = quantifier[1].startsWith(',') ? `0${quantifier[1]}` : quantifier[1];
        i += quantifier[0].length;
        const following = source[i];
        if (following === '+' || following === '*') {
          // Oniguruma reads `a{1,3}+` as a repeat of the bounded repeat, not as possessive.
          out = `${out.slice(0, atomStart)}(?:${out.slice(atomStart)}{${range}})${following}`;
          i++;
        } else {
          out += `{${range}}`;
        }
        afterQuantifier = true;
        continue;
      }
      case '}':
        atom('\\}');
        i++;
        continue;
      case '+':
        // A `+` after a quantifier makes it possessive; JavaScript has none, and dropping it keeps the matches of these patterns.
        if (!afterQuantifier) out += '+';
        afterQuantifier = !afterQuantifier;
        i++;
        continue;
      case '*':
      case '?':
        out += char;
        afterQuantifier = true;
        i++;
        continue;
      default:
        atom(foldCase && isAsciiLetter(char) ? `[${char.toLowerCase()}${char.toUpperCase()}]` : char === '/' ? '\\/' : char);
        i += char.length;
    }
  }
  if (groups.length > 0) throw new RegexTranslationError('unbalanced "(": a group is not closed');
  return out;
}

/** A global Unicode `RegExp` for an Oniguruma pattern; errors say what could not be translated. */
export function compileOniguruma(source: string): RegExp {
  const translated = translateOniguruma(source);
  try {
    return new RegExp(translated, 'gu');
  } catch (error) {
    throw new RegexTranslationError(`not a valid regular expression: ${(error as Error).message}`);
  }
}

/** Escapes `text` for use as a literal inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
