/**
 * llama2.c's tokenizer.bin (written by its tokenizer.py, read by run.c `build_tokenizer`):
 * int32 max_token_length, then per token float32 score, int32 byte length, UTF-8 bytes. The
 * pieces are SentencePiece's with U+2581 written as a space and BOS/EOS as "\n<s>\n" and
 * "\n</s>\n". run.c encodes by repeatedly merging the adjacent pair whose joined piece has
 * the highest score (SentencePiece BPE, Kudo & Richardson 2018), with byte fallback.
 *
 * As tokenizer.json it is the Llama 2 layout: BPE with byte_fallback, merges ranked by the
 * score of the piece they make (the way transformers' SentencePieceExtractor derives them),
 * a Prepend/Replace normalizer, and a template adding BOS.
 */
import { FormatError } from '../format-error';

export interface Llama2cPiece {
  readonly piece: string;
  readonly score: number;
}

const SPACE = '\u2581';
const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;
const SPECIAL: Readonly<Record<string, string>> = { '\n<s>\n': '<s>', '\n</s>\n': '</s>', '<unk>': '<unk>' };

/** Reads `vocabSize` pieces (tokenizer.bin does not store its own count: the checkpoint does). */
export function readLlama2cTokenizer(bytes: Uint8Array, vocabSize: number, file: string): Llama2cPiece[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new FormatError(file, 'max_token_length', 'missing (the file is shorter than 4 bytes)');
  const maxLength = view.getInt32(0, true);
  if (maxLength <= 0 || maxLength > 1 << 16) throw new FormatError(file, 'max_token_length', `${maxLength} is not a plausible longest token`);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const pieces: Llama2cPiece[] = [];
  let at = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (at + 8 > bytes.byteLength) throw new FormatError(file, `token ${id}`, `the file ends after ${id} of the model's ${vocabSize} tokens`);
    const score = view.getFloat32(at, true);
    const length = view.getInt32(at + 4, true);
    at += 8;
    if (length < 0 || length > maxLength) throw new FormatError(file, `token ${id}.length`, `${length} is outside 0..max_token_length ${maxLength}`);
    if (at + length > bytes.byteLength) throw new FormatError(file, `token ${id}`, `its ${length} bytes go past the end of the file`);
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(at, at + length));
    } catch {
      throw new FormatError(file, `token ${id}`, 'is not valid UTF-8');
    }
    at += length;
    if (!Number.isFinite(score)) throw new FormatError(file, `token ${id}.score`, `${score} is not finite`);
    pieces.push({ piece: SPECIAL[text] ?? text.replaceAll(' ', SPACE), score });
  }
  if (at !== bytes.byteLength) throw new FormatError(file, '(file)', `${bytes.byteLength - at} bytes follow the model's ${vocabSize} tokens: the tokenizer belongs to a model with another vocabulary size`);
  return pieces;
}

/** tokenizer.bin bytes for pieces in SentencePiece form (for tests and benchmarks). */
export function writeLlama2cTokenizer(pieces: readonly Llama2cPiece[]): Uint8Array {
  const encoder = new TextEncoder();
  const reverse = new Map(Object.entries(SPECIAL).map(([stored, piece]) => [piece, stored]));
  const encoded = pieces.map((p) => encoder.encode(reverse.get(p.piece) ?? p.piece.replaceAll(SPACE, ' ')));
  const maxLength = Math.max(1, ...encoded.map((e) => e.byteLength));
  const out = new Uint8Array(4 + encoded.reduce((n, e) => n + 8 + e.byteLength, 0));
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLength, true);
  let at = 4;
  pieces.forEach((p, i) => {
    view.setFloat32(at, p.score, true);
    view.setInt32(at + 4, encoded[i].byteLength, true);
    out.set(encoded[i], at + 8);
    at += 8 + encoded[i].byteLength;
  });
  return out;
}

/** The Llama 2 tokenizer.json for these pieces. */
export function llama2cTokenizerJson(pieces: readonly Llama2cPiece[]): Record<string, unknown> {
  const vocab = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (!vocab.has(p.piece)) vocab.set(p.piece, id);
  });
  const idOf = (piece: string): number => vocab.get(piece) as number;
  const special = pieces.map((p, id) => ({ p, id })).filter(({ p }) => Object.values(SPECIAL).includes(p.piece));
  const mergeable = (piece: string): boolean => !BYTE_PIECE.test(piece) && !Object.values(SPECIAL).includes(piece);
  const merges: { left: string; right: string; score: number; order: number }[] = [];
  pieces.forEach(({ piece, score }, id) => {
    if (!mergeable(piece) || vocab.get(piece) !== id) return;
    const chars = Array.from(piece);
    const local: { left: string; right: string }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (vocab.has(left) && vocab.has(right) && mergeable(left) && mergeable(right)) local.push({ left, right });
    }
    local.sort((a, b) => idOf(a.left) - idOf(b.left) || idOf(a.right) - idOf(b.right));
    for (const m of local) merges.push({ ...m, score, order: merges.length });
  });
  // Highest score first; a stable order among equals.
  merges.sort((a, b) => b.score - a.score || a.order - b.order);
  const hasBos = vocab.has('<s>');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map(({ p, id }) => ({ id, content: p.piece, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE }, { type: 'Replace', pattern: { String: ' ' }, content: SPACE }] },
    pre_tokenizer: null,
    post_processor: hasBos
      ? {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { '<s>': { id: '<s>', ids: [vocab.get('<s>')], tokens: ['<s>'] } },
        }
      : null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: vocab.has('<unk>') ? '<unk>' : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(vocab),
      merges: merges.map((m) => [m.left, m.right]),
    },
  };
}
