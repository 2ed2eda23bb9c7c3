import { z } from 'zod';
import { compilePattern } from './pattern';
import { componentType, patternSchema, readComponent, unsupported } from './tokenizer-json-error';

/**
 * Normalizers of tokenizer.json: pure text-to-text steps run on every piece of input
 * between added tokens, before pre-tokenization.
 */
export type Normalizer = (text: string) => string;

const IDENTITY: Normalizer = (text) => text;

/** CJK Unified Ideographs and their extensions, as BERT's `_is_chinese_char` lists them. */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const WHITESPACE = /^\s$/u;

/** BERT's text cleaning (Devlin et al. 2019, reference `BasicTokenizer._clean_text`): drop controls and U+FFFD, whitespace becomes a space. */
function cleanText(text: string): string {
  let out = '';
  for (const char of text) {
    const cp = char.codePointAt(0) as number;
    if (cp === 0 || cp === 0xfffd) continue;
    if (char !== '\t' && char !== '\n' && char !== '\r' && CONTROL.test(char)) continue;
    out += WHITESPACE.test(char) ? ' ' : char;
  }
  return out;
}

function spaceChineseChars(text: string): string {
  let out = '';
  for (const char of text) out += isChineseChar(char.codePointAt(0) as number) ? ` ${char} ` : char;
  return out;
}

function stripAccentsNfd(text: string): string {
  return text.normalize('NFD').replace(/\p{Mn}/gu, '');
}

/**
 * SentencePiece's `Precompiled` normalizer stores its rules as a compiled trie
 * (`precompiled_charsmap`, nmt_nfkc in T5/ALBERT/XLM-R). Like @huggingface/tokenizers,
 * we apply what those charsmaps encode rather than reading the trie: drop control
 * characters, turn the other whitespace into a space, then NFKC (keeping U+FF5E, which
 * the charsmaps leave alone).
 */
function precompiled(text: string): string {
  const cleaned = text.replace(/[\u0001-\u0008\u000B\u000E-\u001F\u007F\u008F\u009F]/g, '').replace(/[\u0009\u000A\u000C\u000D\u00A0\u1680\u2000-\u200F\u2028\u2029\u202F\u205F\u2581\u3000\uFEFF\uFFFD]/g, ' ');
  return cleaned.includes('\uFF5E') ? cleaned.split('\uFF5E').map((part) => part.normalize('NFKC')).join('\uFF5E') : cleaned.normalize('NFKC');
}

const bert = z.object({
  type: z.literal('BertNormalizer'),
  clean_text: z.boolean().default(true),
  handle_chinese_chars: z.boolean().default(true),
  strip_accents: z.boolean().nullable().default(null),
  lowercase: z.boolean().default(true),
});
const replace = z.object({ type: z.literal('Replace'), pattern: patternSchema, content: z.string() });
const prepend = z.object({ type: z.literal('Prepend'), prepend: z.string() });
const strip = z.object({ type: z.literal('Strip'), strip_left: z.boolean().default(true), strip_right: z.boolean().default(true) });
const sequence = z.object({ type: z.literal('Sequence'), normalizers: z.array(z.unknown()) });
const precompiledSchema = z.object({ type: z.literal('Precompiled'), precompiled_charsmap: z.string().nullable().optional() });

/** The normalizer described by `json` at `path` (e.g. `normalizer.normalizers[1]`); null means none. */
export function parseNormalizer(json: unknown, path = 'normalizer'): Normalizer {
  if (json === null || json === undefined) return IDENTITY;
  const type = componentType(json, path);
  switch (type) {
    case 'Sequence': {
      const steps = readComponent(sequence, json, path).normalizers.map((step, i) => parseNormalizer(step, `${path}.normalizers[${i}]`));
      if (steps.length === 0) return IDENTITY;
      return (text) => steps.reduce((current, step) => step(current), text);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (text) => text.normalize(type);
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'StripAccents':
      // Combining marks, as @huggingface/tokenizers removes them; run after NFD/NFKD as real files do.
      return (text) => text.replace(/\p{M}/gu, '');
    case 'Strip': {
      const { strip_left: left, strip_right: right } = readComponent(strip, json, path);
      return (text) => (left && right ? text.trim() : left ? text.trimStart() : right ? text.trimEnd() : text);
    }
    case 'Prepend': {
      const { prepend: prefix } = readComponent(prepend, json, path);
      // The Rust crate leaves an empty string empty; a piece between added tokens can be empty.
      return (text) => (text.length === 0 ? text : prefix + text);
    }
    case 'Replace': {
      const config = readComponent(replace, json, path);
      const pattern = compilePattern(config.pattern, `${path}.pattern`);
      if ('String' in config.pattern) {
        const needle = config.pattern.String;
        return (text) => text.replaceAll(needle, config.content);
      }
      return (text) => text.replace(pattern, () => config.content);
    }
    case 'Precompiled':
      readComponent(precompiledSchema, json, path);
      return precompiled;
    case 'BertNormalizer': {
      const config = readComponent(bert, json, path);
      // strip_accents null means "follow lowercase", as in BERT's uncased models.
      const stripAccents = config.strip_accents ?? config.lowercase;
      return (text) => {
        let out = text;
        if (config.clean_text) out = cleanText(out);
        if (config.handle_chinese_chars) out = spaceChineseChars(out);
        if (config.lowercase) out = out.toLowerCase();
        if (stripAccents) out = stripAccentsNfd(out);
        return out;
      };
    }
    default:
      throw unsupported(path, type);
  }
}
