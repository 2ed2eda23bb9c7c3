import { z } from 'zod';
import { bytesToSymbols } from './byte-unicode';
import { compilePattern } from './pattern';
import { GPT2_PATTERN } from './pretokenize';
import { SPLIT_BEHAVIORS, splitWithBehavior, type SplitBehavior } from './split-behavior';
import { componentType, patternSchema, readComponent, unsupported } from './tokenizer-json-error';

/**
 * Pre-tokenizers of tokenizer.json: each cuts a piece of normalized text into smaller
 * pieces (words) that the model encodes separately, so merges never cross them.
 */

/** One step: appends the pieces of `piece` to `out`; `section` is the index of the text between added tokens (Metaspace "first"). */
type Step = (piece: string, section: number, out: string[]) => void;

export interface PreTokenizer {
  /** Pieces of `text`, in order. */
  split(text: string, section: number): string[];
  /**
   * True when the last step is ByteLevel and its byte-to-symbol mapping was left to
   * the model: pieces come out as raw text, which lets a byte-level BPE work on UTF-8
   * bytes directly and cache by the raw word.
   */
  readonly bytesDeferred: boolean;
}

const utf8 = new TextEncoder();
const WHITESPACE_RUN = /[^\p{White_Space}]+/gu;
const WORD_OR_SYMBOLS = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{White_Space}]+/gu;
// ASCII punctuation plus Unicode P*, the Rust crate's `is_punc`.
const PUNCTUATION_CHAR = /[\p{P}!-/:-@[-`{-~]/gu;
const NUMERIC_CHAR = /\p{N}/gu;
const BERT_WORDS = /[^\p{White_Space}]+/gu;

const behaviorSchema = z.enum(SPLIT_BEHAVIORS);
const byteLevel = z.object({
  type: z.literal('ByteLevel'),
  add_prefix_space: z.boolean().default(true),
  trim_offsets: z.boolean().optional(),
  use_regex: z.boolean().default(true),
});
const split = z.object({ type: z.literal('Split'), pattern: patternSchema, behavior: behaviorSchema, invert: z.boolean().default(false) });
const metaspace = z.object({
  type: z.literal('Metaspace'),
  replacement: z.string().refine((value) => [...value].length === 1, 'must be one character').default('\u2581'),
  prepend_scheme: z.enum(['always', 'first', 'never']).optional(),
  add_prefix_space: z.boolean().optional(),
  split: z.boolean().default(true),
  str_rep: z.string().optional(),
});
const punctuation = z.object({ type: z.literal('Punctuation'), behavior: behaviorSchema.default('Isolated') });
const digits = z.object({ type: z.literal('Digits'), individual_digits: z.boolean().default(false) });
const replace = z.object({ type: z.literal('Replace'), pattern: patternSchema, content: z.string() });
const fixedLength = z.object({ type: z.literal('FixedLength'), length: z.number().int().positive().default(5) });
const sequence = z.object({ type: z.literal('Sequence'), pretokenizers: z.array(z.unknown()) });

function matchesOf(pattern: RegExp): Step {
  return (piece, _section, out) => {
    const found = piece.match(pattern);
    if (found !== null) for (const word of found) out.push(word);
  };
}

function splitStep(pattern: RegExp, behavior: SplitBehavior, invert: boolean): Step {
  return (piece, _section, out) => splitWithBehavior(piece, pattern, behavior, invert, out);
}

/** ByteLevel (Radford et al. 2019, GPT-2's byte-to-unicode trick): optional leading space, the GPT-2 word regex, bytes as symbols. */
function byteLevelStep(addPrefixSpace: boolean, useRegex: boolean, mapBytes: boolean): Step {
  const pattern = new RegExp(GPT2_PATTERN.source, GPT2_PATTERN.flags);
  return (piece, _section, out) => {
    const text = addPrefixSpace && !piece.startsWith(' ') ? ` ${piece}` : piece;
    if (!useRegex) {
      out.push(mapBytes ? bytesToSymbols(utf8.encode(text)) : text);
      return;
    }
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      out.push(mapBytes ? bytesToSymbols(utf8.encode(match[0])) : match[0]);
    }
  };
}

function metaspaceStep(config: z.output<typeof metaspace>): Step {
  const replacement = config.replacement;
  // Files written before prepend_scheme existed say add_prefix_space instead.
  const scheme = config.prepend_scheme ?? (config.add_prefix_space === false ? 'never' : 'always');
  const separator = new RegExp(replacement.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'gu');
  return (piece, section, out) => {
    let text = piece.replaceAll(' ', replacement);
    if (!text.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && section === 0))) text = replacement + text;
    if (config.split) splitWithBehavior(text, separator, 'MergedWithNext', false, out);
    else if (text.length > 0) out.push(text);
  };
}

/** Flattens nested Sequences into steps; `last` tells whether this component ends the whole chain. */
function parseSteps(json: unknown, path: string, last: boolean, steps: Step[]): { bytesDeferred: boolean } {
  const type = componentType(json, path);
  switch (type) {
    case 'Sequence': {
      const children = readComponent(sequence, json, path).pretokenizers;
      let bytesDeferred = false;
      children.forEach((child, i) => {
        bytesDeferred = parseSteps(child, `${path}.pretokenizers[${i}]`, last && i === children.length - 1, steps).bytesDeferred;
      });
      return { bytesDeferred: last && bytesDeferred };
    }
    case 'ByteLevel': {
      const config = readComponent(byteLevel, json, path);
      // Deferred to the model with nothing to split or prepend, the step would copy pieces through.
      if (config.use_regex || config.add_prefix_space || !last) steps.push(byteLevelStep(config.add_prefix_space, config.use_regex, !last));
      return { bytesDeferred: last };
    }
    case 'Split': {
      const config = readComponent(split, json, path);
      steps.push(splitStep(compilePattern(config.pattern, `${path}.pattern`), config.behavior, config.invert));
      break;
    }
    case 'Metaspace':
      steps.push(metaspaceStep(readComponent(metaspace, json, path)));
      break;
    case 'Whitespace':
      steps.push(matchesOf(WORD_OR_SYMBOLS));
      break;
    case 'WhitespaceSplit':
      steps.push(matchesOf(WHITESPACE_RUN));
      break;
    case 'BertPreTokenizer': {
      const words = matchesOf(BERT_WORDS);
      steps.push((piece, section, out) => {
        const pieces: string[] = [];
        words(piece, section, pieces);
        for (const word of pieces) splitWithBehavior(word, PUNCTUATION_CHAR, 'Isolated', false, out);
      });
      break;
    }
    case 'Punctuation':
      steps.push(splitStep(PUNCTUATION_CHAR, readComponent(punctuation, json, path).behavior, false));
      break;
    case 'Digits': {
      const individual = readComponent(digits, json, path).individual_digits;
      steps.push(splitStep(NUMERIC_CHAR, individual ? 'Isolated' : 'Contiguous', false));
      break;
    }
    case 'Replace': {
      const config = readComponent(replace, json, path);
      const pattern = compilePattern(config.pattern, `${path}.pattern`);
      steps.push((piece, _section, out) => {
        const replaced = piece.replace(pattern, () => config.content);
        if (replaced.length > 0) out.push(replaced);
      });
      break;
    }
    case 'FixedLength': {
      const length = readComponent(fixedLength, json, path).length;
      steps.push((piece, _section, out) => {
        const chars = Array.from(piece);
        for (let i = 0; i < chars.length; i += length) out.push(chars.slice(i, i + length).join(''));
      });
      break;
    }
    default:
      throw unsupported(path, type);
  }
  return { bytesDeferred: false };
}

/**
 * The pre-tokenizer described by `json` at `path`; null means the whole piece is one
 * word. `deferBytes`: the model can take raw text in place of byte-level symbols.
 */
export function parsePreTokenizer(json: unknown, path = 'pre_tokenizer', deferBytes = false): PreTokenizer {
  if (json === null || json === undefined) return { split: (text) => (text.length > 0 ? [text] : []), bytesDeferred: false };
  const steps: Step[] = [];
  const { bytesDeferred } = parseSteps(json, path, deferBytes, steps);
  if (steps.length === 1) {
    const only = steps[0];
    return {
      bytesDeferred,
      split(text, section) {
        const out: string[] = [];
        only(text, section, out);
        return out;
      },
    };
  }
  return {
    bytesDeferred,
    split(text, section) {
      let pieces = [text];
      for (const step of steps) {
        const next: string[] = [];
        for (const piece of pieces) step(piece, section, next);
        pieces = next;
      }
      return pieces;
    },
  };
}
