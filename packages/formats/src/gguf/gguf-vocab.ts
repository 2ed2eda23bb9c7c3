/**
 * A tokenizer.json <-> the GGUF embedded vocabulary (tokenizer.ggml.*), for the two BPE
 * families llama.cpp runs: byte-level BPE (`gpt2`: tokens + merges) and SentencePiece-style
 * BPE with byte fallback (`llama`: tokens + scores, merged by highest score). Pure
 * functions over parsed JSON and metadata maps.
 *
 * Scores for `llama` from merges: a token made by merge rank r scores -r, so llama.cpp's
 * highest-score-first merging follows the merge order. Back from scores, merges are every
 * split of a token into two vocabulary pieces, ordered by the token's score, as Hugging
 * Face's SentencePieceExtractor derives them.
 */
import { GgufTokenType, GgufValueType, type GgufMetadata, type GgufValue } from './gguf-types';

export type GgufTokenizerModel = 'gpt2' | 'llama';

interface TokenizerJsonLike {
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]>; byte_fallback?: boolean; unk_token?: string | null };
}

export interface VocabExport {
  kind: GgufTokenizerModel;
  metadata: GgufMetadata;
  warnings: string[];
}

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

function mentions(node: unknown, type: string): boolean {
  return JSON.stringify(node ?? null).includes(`"type":"${type}"`);
}

/** Which GGUF tokenizer model a tokenizer.json is, or why it has none. */
export function ggufTokenizerKind(json: TokenizerJsonLike): GgufTokenizerModel {
  const model = json.model;
  if (model?.type !== 'BPE') throw new Error(`tokenizer.json model.type ${JSON.stringify(model?.type)} has no GGUF vocabulary form (only BPE is exported)`);
  if (mentions(json.pre_tokenizer, 'ByteLevel') || mentions(json.decoder, 'ByteLevel')) return 'gpt2';
  if (model.byte_fallback && (mentions(json.decoder, 'ByteFallback') || mentions(json.pre_tokenizer, 'Metaspace') || mentions(json.normalizer, 'Prepend'))) return 'llama';
  throw new Error('tokenizer.json is BPE but neither byte-level (ByteLevel pre-tokenizer/decoder) nor SentencePiece-style (byte_fallback with a ▁ normalizer or Metaspace)');
}

const mergeText = (m: string | [string, string]): string => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`);
const mergeParts = (m: string | [string, string]): [string, string] => {
  if (typeof m !== 'string') return m;
  const at = m.indexOf(' ', 1);
  return [m.slice(0, at), m.slice(at + 1)];
};

/** The regex-free GPT-2 pre-tokenizer or the llama.cpp preset name matching this tokenizer's Split regex. */
function preTokenizerName(json: TokenizerJsonLike, warnings: string[]): string {
  const text = JSON.stringify(json.pre_tokenizer ?? null);
  for (const [name, regex] of Object.entries(PRE_REGEX)) if (text.includes(JSON.stringify(regex).slice(1, -1))) return name;
  if (text.includes('"use_regex":true')) return 'gpt-2';
  warnings.push('the pre-tokenizer matches no llama.cpp preset; written as "default", so llama.cpp may split text differently (ids given directly are unaffected)');
  return 'default';
}

/** Split regexes of llama.cpp pre-tokenizer presets that Hugging Face tokenizers spell the same way. */
export const PRE_REGEX: Record<string, string> = {
  'llama-bpe': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

export interface SpecialIds {
  bos: number | null;
  eos: number | null;
}

/** tokenizer.ggml.* metadata for a tokenizer.json, with `vocabSize` tokens (missing ids become unused placeholders). */
export function vocabToGguf(json: TokenizerJsonLike, vocabSize: number, ids: SpecialIds): VocabExport {
  const kind = ggufTokenizerKind(json);
  const warnings: string[] = [];
  const vocab = json.model!.vocab ?? {};
  const tokens: string[] = new Array(vocabSize);
  const types: number[] = new Array(vocabSize).fill(GgufTokenType.NORMAL);
  const place = (text: string, id: number, what: string) => {
    if (!Number.isInteger(id) || id < 0) throw new Error(`tokenizer.json ${what} "${text}" has id ${id}`);
    if (id >= vocabSize) throw new Error(`tokenizer.json ${what} "${text}" has id ${id}, past the model's ${vocabSize} embeddings`);
    tokens[id] = text;
  };
  for (const [text, id] of Object.entries(vocab)) place(text, id, 'token');
  for (const t of json.added_tokens ?? []) {
    place(t.content, t.id, 'added token');
    types[t.id] = t.special === false ? GgufTokenType.USER_DEFINED : GgufTokenType.CONTROL;
  }
  let holes = 0;
  for (let i = 0; i < vocabSize; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = GgufTokenType.UNUSED;
      holes++;
    }
  }
  if (holes) warnings.push(`${holes} ids of the model have no token in tokenizer.json; written as unused [PAD<id>] tokens`);
  const merges = json.model!.merges ?? [];
  const metadata: GgufMetadata = new Map();
  metadata.set('tokenizer.ggml.model', { type: GgufValueType.STRING, value: kind });
  if (kind === 'gpt2') {
    metadata.set('tokenizer.ggml.pre', { type: GgufValueType.STRING, value: preTokenizerName(json, warnings) });
  } else {
    metadata.set('tokenizer.ggml.pre', { type: GgufValueType.STRING, value: 'default' });
    const unk = json.model!.unk_token;
    for (let i = 0; i < vocabSize; i++) {
      if (BYTE_TOKEN.test(tokens[i]!) && types[i] === GgufTokenType.NORMAL) types[i] = GgufTokenType.BYTE;
      if (unk != null && tokens[i] === unk) types[i] = GgufTokenType.UNKNOWN;
    }
  }
  metadata.set('tokenizer.ggml.tokens', arr(GgufValueType.STRING, tokens));
  if (kind === 'llama') {
    const byText = new Map(tokens.map((t, i) => [t, i]));
    const scores = new Array<number>(vocabSize).fill(0);
    const made = new Array<boolean>(vocabSize).fill(false);
    merges.forEach((m, rank) => {
      const [a, b] = mergeParts(m);
      const id = byText.get(a + b);
      if (id !== undefined && !made[id]) {
        scores[id] = -rank;
        made[id] = true;
      }
    });
    for (let i = 0; i < vocabSize; i++) if (!made[i] && types[i] === GgufTokenType.NORMAL) scores[i] = -(merges.length + i);
    metadata.set('tokenizer.ggml.scores', arr(GgufValueType.FLOAT32, scores));
  }
  metadata.set('tokenizer.ggml.token_type', arr(GgufValueType.INT32, types));
  if (kind === 'gpt2') metadata.set('tokenizer.ggml.merges', arr(GgufValueType.STRING, merges.map(mergeText)));
  // The tokenizer's own special tokens win over config.json's ids.
  const pick = (role: string, own: number | null, configured: number | null): number | null => {
    if (own !== null && configured !== null && own !== configured) warnings.push(`config.json ${role}_token_id ${configured} disagrees with the tokenizer's ${role} token ${own} ("${tokens[own]}"); the tokenizer's is written`);
    return own ?? configured;
  };
  const bos = pick('bos', templateBos(json) ?? findAdded(json, ['<s>', '<|begin_of_text|>', '<bos>']), ids.bos);
  const eos = pick('eos', findAdded(json, ['</s>', '<|endoftext|>', '<|end_of_text|>', '<eos>']), ids.eos);
  if (bos !== null) metadata.set('tokenizer.ggml.bos_token_id', { type: GgufValueType.UINT32, value: bos });
  if (eos !== null) metadata.set('tokenizer.ggml.eos_token_id', { type: GgufValueType.UINT32, value: eos });
  const unkId = json.model!.unk_token != null ? vocab[json.model!.unk_token] : undefined;
  if (unkId !== undefined) metadata.set('tokenizer.ggml.unknown_token_id', { type: GgufValueType.UINT32, value: unkId });
  metadata.set('tokenizer.ggml.add_bos_token', { type: GgufValueType.BOOL, value: mentions(json.post_processor, 'TemplateProcessing') && JSON.stringify(json.post_processor).includes('"SpecialToken"') });
  return { kind, metadata, warnings };
}

/** The id of the special token a TemplateProcessing post-processor puts first, if any. */
function templateBos(json: TokenizerJsonLike): number | null {
  const p = json.post_processor as { type?: string; single?: Array<{ SpecialToken?: { id: string } }>; special_tokens?: Record<string, { ids?: number[] }> } | null | undefined;
  if (p?.type !== 'TemplateProcessing') return null;
  const first = p.single?.[0]?.SpecialToken?.id;
  const id = first !== undefined ? p.special_tokens?.[first]?.ids?.[0] : undefined;
  return typeof id === 'number' ? id : null;
}

function findAdded(json: TokenizerJsonLike, names: string[]): number | null {
  for (const n of names) {
    const t = json.added_tokens?.find((a) => a.content === n);
    if (t) return t.id;
  }
  return null;
}

function arr(elementType: GgufValueType, value: Array<string | number | boolean | bigint>): GgufValue {
  return { type: GgufValueType.ARRAY, elementType, value };
}

/** What the importer needs of the metadata's vocabulary. */
export interface GgufVocab {
  model: string;
  pre: string | undefined;
  tokens: string[];
  types: number[] | undefined;
  scores: number[] | undefined;
  merges: string[] | undefined;
  bos: number | undefined;
  eos: number | undefined;
  unk: number | undefined;
  addBos: boolean | undefined;
}

export interface VocabImport {
  tokenizer: Record<string, unknown>;
  kind: string;
  warnings: string[];
}

/** A tokenizer.json equivalent to the GGUF vocabulary. */
export function ggufToTokenizerJson(v: GgufVocab): VocabImport {
  const warnings: string[] = [];
  const types = v.types ?? v.tokens.map(() => GgufTokenType.NORMAL);
  const special = (i: number) => types[i] === GgufTokenType.CONTROL || types[i] === GgufTokenType.UNKNOWN || (types[i] === GgufTokenType.USER_DEFINED);
  const added = v.tokens.flatMap((content, id) =>
    special(id) ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] !== GgufTokenType.USER_DEFINED }] : [],
  );
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => {
    if (!Object.hasOwn(vocab, t)) vocab[t] = i;
  });
  if (v.model === 'gpt2') {
    if (!v.merges) throw new Error('tokenizer.ggml.merges: missing, which a gpt2 vocabulary needs');
    let preTokenizer: Record<string, unknown> = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    const regex = v.pre ? PRE_REGEX[v.pre] : undefined;
    if (regex) {
      preTokenizer = {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      };
    } else if (v.pre !== undefined && v.pre !== 'gpt-2' && v.pre !== 'default') {
      warnings.push(`tokenizer.ggml.pre "${v.pre}" is not known here; GPT-2's pre-tokenizer is used, so text may split differently than in llama.cpp`);
    }
    return {
      kind: 'byte-level BPE (gguf gpt2)',
      warnings,
      tokenizer: {
        version: '1.0',
        truncation: null,
        padding: null,
        added_tokens: added,
        normalizer: null,
        pre_tokenizer: preTokenizer,
        post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
        decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: v.merges },
      },
    };
  }
  if (v.model === 'llama') {
    if (!v.scores) throw new Error('tokenizer.ggml.scores: missing, which a llama vocabulary needs');
    const merges = mergesFromScores(v.tokens, v.scores, types);
    const bos = v.bos !== undefined ? v.tokens[v.bos] : undefined;
    const addBos = (v.addBos ?? true) && bos !== undefined;
    return {
      kind: 'SentencePiece BPE (gguf llama)',
      warnings,
      tokenizer: {
        version: '1.0',
        truncation: null,
        padding: null,
        added_tokens: added,
        normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
        pre_tokenizer: null,
        post_processor: addBos
          ? {
              type: 'TemplateProcessing',
              single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
              pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
              special_tokens: { [bos!]: { id: bos, ids: [v.bos], tokens: [bos] } },
            }
          : null,
        decoder: {
          type: 'Sequence',
          decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
        },
        model: {
          type: 'BPE',
          dropout: null,
          unk_token: v.unk !== undefined ? v.tokens[v.unk] : null,
          continuing_subword_prefix: null,
          end_of_word_suffix: null,
          fuse_unk: true,
          byte_fallback: true,
          ignore_merges: false,
          vocab,
          merges,
        },
      },
    };
  }
  throw new Error(`tokenizer.ggml.model: "${v.model}" is not supported (gpt2 and llama are)`);
}

/** Every split of each normal token into two vocabulary pieces, best-scored tokens first. */
export function mergesFromScores(tokens: string[], scores: number[], types: number[]): string[] {
  const index = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (types[i] === GgufTokenType.NORMAL && !index.has(t)) index.set(t, i);
  });
  const order = tokens.map((_, i) => i).filter((i) => types[i] === GgufTokenType.NORMAL);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const merges: string[] = [];
  for (const id of order) {
    const chars = Array.from(tokens[id]!);
    const local: Array<[number, number, string]> = [];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const l = index.get(left);
      const r = index.get(right);
      if (l !== undefined && r !== undefined) local.push([l, r, `${left} ${right}`]);
    }
    local.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (const m of local) merges.push(m[2]);
  }
  return merges;
}
