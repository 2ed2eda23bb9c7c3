import { z } from 'zod';
import { CHAR_TO_BYTE } from './byte-unicode';
import { compilePattern } from './pattern';
import { componentType, patternSchema, readComponent, unsupported } from './tokenizer-json-error';

/**
 * Decoders of tokenizer.json: each turns the list of token strings into another list
 * (the chain of a Sequence), and the last list is joined into the text.
 */
export type Decoder = (tokens: string[]) => string[];

export interface DecoderContext {
  /** Contents of added tokens, which the ByteLevel decoder passes through as text. */
  readonly addedContents: ReadonlySet<string>;
}

const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });
const STRICT_UTF8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/** The `clean_up_tokenization` of `transformers`: no space before punctuation and English contractions. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

const byteLevel = z.object({ type: z.literal('ByteLevel') }).passthrough();
const wordPiece = z.object({ type: z.literal('WordPiece'), prefix: z.string().default('##'), cleanup: z.boolean().default(true) });
const metaspace = z.object({
  type: z.literal('Metaspace'),
  replacement: z.string().default('\u2581'),
  prepend_scheme: z.enum(['always', 'first', 'never']).optional(),
  add_prefix_space: z.boolean().optional(),
  split: z.boolean().optional(),
  str_rep: z.string().optional(),
});
const bpeDecoder = z.object({ type: z.literal('BPEDecoder'), suffix: z.string().default('</w>') });
const ctc = z.object({ type: z.literal('CTC'), pad_token: z.string().default('<pad>'), word_delimiter_token: z.string().default('|'), cleanup: z.boolean().default(true) });
const replace = z.object({ type: z.literal('Replace'), pattern: patternSchema, content: z.string() });
const strip = z.object({ type: z.literal('Strip'), content: z.string(), start: z.number().int().nonnegative().default(0), stop: z.number().int().nonnegative().default(0) });
const sequence = z.object({ type: z.literal('Sequence'), decoders: z.array(z.unknown()) });

/** GPT-2 byte symbols back to text; runs of symbols are decoded together so multi-byte characters survive token cuts. */
function byteLevelDecoder(context: DecoderContext): Decoder {
  const encoder = new TextEncoder();
  const decodeRun = (run: string): string => {
    const bytes: number[] = [];
    for (const char of run) {
      const byte = CHAR_TO_BYTE.get(char);
      // A character outside the byte alphabet stands for itself, as in the crate.
      if (byte !== undefined) bytes.push(byte);
      else for (const own of encoder.encode(char)) bytes.push(own);
    }
    return UTF8.decode(Uint8Array.from(bytes));
  };
  return (tokens) => {
    const out: string[] = [];
    let run = '';
    for (const token of tokens) {
      if (context.addedContents.has(token)) {
        if (run.length > 0) out.push(decodeRun(run));
        run = '';
        out.push(token);
      } else {
        run += token;
      }
    }
    if (run.length > 0) out.push(decodeRun(run));
    return out;
  };
}

/** SentencePiece byte tokens `<0xNN>` back to text; an invalid UTF-8 run becomes one U+FFFD per byte, as the Rust crate does. */
const byteFallback: Decoder = (tokens) => {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    try {
      out.push(STRICT_UTF8.decode(Uint8Array.from(bytes)));
    } catch {
      for (let i = 0; i < bytes.length; i++) out.push('\ufffd');
    }
    bytes = [];
  };
  for (const token of tokens) {
    const byte = token.length === 6 && token.startsWith('<0x') && token.endsWith('>') ? Number.parseInt(token.slice(3, 5), 16) : Number.NaN;
    if (Number.isNaN(byte)) {
      flush();
      out.push(token);
    } else {
      bytes.push(byte);
    }
  }
  flush();
  return out;
};

/** The decoder described by `json` at `path`; null joins the tokens with spaces, as the Rust crate does. */
export function parseDecoder(json: unknown, context: DecoderContext, path = 'decoder'): Decoder | null {
  if (json === null || json === undefined) return null;
  const type = componentType(json, path);
  switch (type) {
    case 'ByteLevel':
      readComponent(byteLevel, json, path);
      return byteLevelDecoder(context);
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Replace': {
      const config = readComponent(replace, json, path);
      const pattern = compilePattern(config.pattern, `${path}.pattern`);
      return (tokens) => tokens.map((token) => token.replace(pattern, () => config.content));
    }
    case 'Strip': {
      const { content, start, stop } = readComponent(strip, json, path);
      return (tokens) =>
        tokens.map((token) => {
          let from = 0;
          while (from < start && token.startsWith(content, from)) from += content.length;
          let to = token.length;
          for (let i = 0; i < stop && to - content.length >= from && token.endsWith(content, to); i++) to -= content.length;
          return token.slice(from, to);
        });
    }
    case 'Metaspace': {
      const config = readComponent(metaspace, json, path);
      const scheme = config.prepend_scheme ?? (config.add_prefix_space === false ? 'never' : 'always');
      return (tokens) =>
        tokens.map((token, i) => {
          const text = token.replaceAll(config.replacement, ' ');
          // The space the pre-tokenizer prepended to the text goes again.
          return i === 0 && scheme !== 'never' && text.startsWith(' ') ? text.slice(1) : text;
        });
    }
    case 'WordPiece': {
      const { prefix, cleanup } = readComponent(wordPiece, json, path);
      return (tokens) =>
        tokens.map((token, i) => {
          let text = token;
          if (i !== 0) text = text.startsWith(prefix) ? text.slice(prefix.length) : ` ${text}`;
          return cleanup ? cleanUpTokenization(text) : text;
        });
    }
    case 'BPEDecoder': {
      const { suffix } = readComponent(bpeDecoder, json, path);
      return (tokens) => tokens.map((token, i) => token.replaceAll(suffix, i === tokens.length - 1 ? '' : ' '));
    }
    case 'CTC': {
      const config = readComponent(ctc, json, path);
      // Collapse repeats, drop padding, and (with cleanup) turn word delimiters into spaces, as the crate's CTC decoder does.
      return (tokens) =>
        tokens
          .filter((token, i) => i === 0 || token !== tokens[i - 1])
          .map((token) => {
            const text = token.replaceAll(config.pad_token, '');
            return config.cleanup ? cleanUpTokenization(text).replaceAll(config.word_delimiter_token, ' ') : text;
          })
          .filter((text) => text.length > 0);
    }
    case 'Sequence': {
      const steps = readComponent(sequence, json, path).decoders.map((step, i) => parseDecoder(step, context, `${path}.decoders[${i}]`));
      return (tokens) => steps.reduce((current, step) => (step === null ? current : step(current)), tokens);
    }
    default:
      throw unsupported(path, type);
  }
}
