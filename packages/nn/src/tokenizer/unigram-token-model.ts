import { z } from 'zod';
import { byteFallbackToken, type TokenModel } from './token-model';
import { readComponent, TokenizerJsonError } from './tokenizer-json-error';

const unigramSchema = z.object({
  type: z.literal('Unigram').optional(),
  unk_id: z.number().int().nonnegative().nullable().optional(),
  byte_fallback: z.boolean().default(false),
  // Checked by hand in the constructor (zod is too slow on 250k pieces).
  vocab: z.array(z.unknown()).min(1),
});

/** Penalty of the unknown token below the lowest piece score, as in SentencePiece (`kUnkPenalty`). */
const UNK_PENALTY = 10;
const utf8 = new TextEncoder();

interface TrieNode {
  id: number;
  readonly children: Map<number, TrieNode>;
}

/**
 * Unigram language-model tokenization (Kudo 2018, "Subword Regularization", section
 * 3): the segmentation of a word that maximizes the sum of its pieces' log
 * probabilities, found by Viterbi over the lattice of vocabulary pieces. A character
 * no piece covers becomes the unknown token, scored below every piece; runs of them
 * are fused, and with `byte_fallback` become SentencePiece byte tokens.
 */
export class UnigramTokenModel implements TokenModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string | null;
  readonly acceptsRawBytes = false;
  private readonly scores: Float64Array;
  private readonly unkId: number;
  private readonly unkScore: number;
  private readonly byteFallback: Int32Array | null;
  private readonly root: TrieNode = { id: -1, children: new Map() };

  constructor(json: unknown, path = 'model') {
    const config = readComponent(unigramSchema, json, path);
    const vocab = new Map<string, number>();
    this.scores = new Float64Array(config.vocab.length);
    let minScore = Infinity;
    const entries = config.vocab.map((entry, id): [string, number] => {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1])) {
        throw new TokenizerJsonError(`${path}.vocab[${id}] must be ["piece", score], got ${JSON.stringify(entry)}`);
      }
      return [entry[0], entry[1]];
    });
    entries.forEach(([piece, score], id) => {
      if (!vocab.has(piece)) vocab.set(piece, id);
      this.scores[id] = score;
      minScore = Math.min(minScore, score);
    });
    this.vocab = vocab;
    const unkId = config.unk_id ?? null;
    if (unkId !== null && unkId >= config.vocab.length) throw new TokenizerJsonError(`${path}.unk_id ${unkId} is outside ${path}.vocab (${config.vocab.length} pieces)`);
    this.unkId = unkId ?? -1;
    this.unkToken = unkId === null ? null : entries[unkId][0];
    this.unkScore = minScore - UNK_PENALTY;
    if (this.unkId >= 0) this.scores[this.unkId] = this.unkScore;
    if (config.byte_fallback) {
      this.byteFallback = new Int32Array(256);
      for (let byte = 0; byte < 256; byte++) this.byteFallback[byte] = vocab.get(byteFallbackToken(byte)) ?? -1;
    } else {
      this.byteFallback = null;
    }
    for (const [piece, id] of vocab) {
      if (piece.length === 0) continue;
      let node = this.root;
      for (const char of piece) {
        const code = char.codePointAt(0) as number;
        let child = node.children.get(code);
        if (child === undefined) {
          child = { id: -1, children: new Map() };
          node.children.set(code, child);
        }
        node = child;
      }
      node.id = id;
    }
  }

  encode(pieces: readonly string[], _rawBytes: boolean, out: number[]): void {
    for (const word of pieces) this.encodeWord(word, out);
  }

  private encodeWord(word: string, out: number[]): void {
    const codes = Array.from(word, (char) => char.codePointAt(0) as number);
    const n = codes.length;
    if (n === 0) return;
    // best[e]: highest score of a segmentation of codes[0..e); from[e]/piece[e]: its last piece.
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1);
    const piece = new Int32Array(n + 1);
    best[0] = 0;
    for (let start = 0; start < n; start++) {
      const base = best[start];
      let node: TrieNode | undefined = this.root;
      let coveredSingle = false;
      for (let end = start; end < n; end++) {
        node = node.children.get(codes[end]);
        if (node === undefined) break;
        if (node.id < 0) continue;
        if (end === start) coveredSingle = true;
        const score = base + this.scores[node.id];
        // Strictly greater: on a tie the segmentation found first (earlier start) stays.
        if (score > best[end + 1]) {
          best[end + 1] = score;
          from[end + 1] = start;
          piece[end + 1] = node.id;
        }
      }
      if (!coveredSingle) {
        const score = base + this.unkScore;
        if (score > best[start + 1]) {
          best[start + 1] = score;
          from[start + 1] = start;
          piece[start + 1] = -1;
        }
      }
    }
    const found: { start: number; end: number; id: number }[] = [];
    for (let end = n; end > 0; end = from[end]) found.push({ start: from[end], end, id: piece[end] });
    found.reverse();
    for (let i = 0; i < found.length; i++) {
      if (found[i].id >= 0) {
        out.push(found[i].id);
        continue;
      }
      // A run of unknown characters is one unknown token (or its bytes).
      let runEnd = i;
      while (runEnd + 1 < found.length && found[runEnd + 1].id < 0) runEnd++;
      const text = String.fromCodePoint(...codes.slice(found[i].start, found[runEnd].end));
      this.pushUnknown(text, out);
      i = runEnd;
    }
  }

  private pushUnknown(text: string, out: number[]): void {
    if (this.byteFallback !== null) {
      const bytes = utf8.encode(text);
      if (bytes.every((byte) => (this.byteFallback as Int32Array)[byte] >= 0)) {
        for (const byte of bytes) out.push(this.byteFallback[byte]);
        return;
      }
    }
    if (this.unkId >= 0) out.push(this.unkId);
  }
}
