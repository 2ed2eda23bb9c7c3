/**
 * K-quant decoding (Q4_K, Q6_K) checked against llama.cpp itself: a small decoder whose
 * weights are packed into Q4_K (layers) and Q6_K (embedding, head) by a plain packer
 * written here from ggml's block layout is imported by us and run by llama.cpp; both give
 * the same greedy tokens, and the packer's values decode within one quantization step.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoderSession, generate, initDecoderWeights, parseDecoderConfig } from '@distillery/nn';
import { float32ToFloat16Bits, float16BitsToFloat32 } from '@distillery/onnx';
import { readModelFolder, referenceModelDir, writeModelFolder } from '@distillery/reference';
import { decodeGgml, exportGguf, GgmlType, importGguf, llamaCppGreedy, readGgufHeader, writeGguf, type GgufTensorOut } from '../src/index';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gguf-kq-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const half = (x: number) => float16BitsToFloat32(float32ToFloat16Bits(x));

/** Q4_K super-blocks: per 32-value sub-block an asymmetric 4-bit grid, its scale and min in 6 bits of d and dmin. */
function packQ4K(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 256) * 144);
  const view = new DataView(out.buffer);
  for (let b = 0; b < x.length / 256; b++) {
    const s: number[] = [];
    const m: number[] = [];
    for (let j = 0; j < 8; j++) {
      const sub = x.subarray(b * 256 + j * 32, b * 256 + j * 32 + 32);
      const lo = Math.min(0, ...sub);
      const hi = Math.max(...sub);
      s.push((hi - lo) / 15);
      m.push(-lo);
    }
    const d = half(Math.max(...s) / 63);
    const dmin = half(Math.max(...m) / 63);
    const sc = s.map((v) => (d ? Math.min(63, Math.round(v / d)) : 0));
    const mn = m.map((v) => (dmin ? Math.min(63, Math.round(v / dmin)) : 0));
    const o = b * 144;
    view.setUint16(o, float32ToFloat16Bits(d), true);
    view.setUint16(o + 2, float32ToFloat16Bits(dmin), true);
    for (let j = 0; j < 4; j++) {
      out[o + 4 + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
      out[o + 4 + j + 4] = (mn[j]! & 63) | ((mn[j + 4]! >> 4) << 6);
      out[o + 4 + j + 8] = (sc[j + 4]! & 0xf) | ((mn[j + 4]! & 0xf) << 4);
    }
    const q = (i: number) => {
      const j = i >> 5;
      const step = d * sc[j]!;
      return step ? Math.max(0, Math.min(15, Math.round((x[b * 256 + i]! + dmin * mn[j]!) / step))) : 0;
    };
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) out[o + 16 + c * 32 + l] = q(c * 64 + l) | (q(c * 64 + 32 + l) << 4);
  }
  return out;
}

/** Q6_K super-blocks: per 16-value sub-block a symmetric 6-bit grid with an int8 scale of d. */
function packQ6K(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 256) * 210);
  const view = new DataView(out.buffer);
  for (let b = 0; b < x.length / 256; b++) {
    const s = Array.from({ length: 16 }, (_, k) => Math.max(...Array.from(x.subarray(b * 256 + k * 16, b * 256 + k * 16 + 16), Math.abs)) / 31);
    const d = half(Math.max(...s) / 127);
    const sc = s.map((v) => (d ? Math.min(127, Math.round(v / d)) : 0));
    const q = Array.from({ length: 256 }, (_, i) => {
      const step = d * sc[i >> 4]!;
      return (step ? Math.max(-32, Math.min(31, Math.round(x[b * 256 + i]! / step))) : 0) + 32;
    });
    const o = b * 210;
    for (let n = 0; n < 2; n++) {
      const ql = o + n * 64;
      const qh = o + 128 + n * 32;
      const y = n * 128;
      for (let l = 0; l < 32; l++) {
        out[ql + l] = (q[y + l]! & 0xf) | ((q[y + l + 64]! & 0xf) << 4);
        out[ql + l + 32] = (q[y + l + 32]! & 0xf) | ((q[y + l + 96]! & 0xf) << 4);
        out[qh + l] = (q[y + l]! >> 4) | ((q[y + l + 32]! >> 4) << 2) | ((q[y + l + 64]! >> 4) << 4) | ((q[y + l + 96]! >> 4) << 6);
      }
    }
    for (let k = 0; k < 16; k++) view.setInt8(o + 192 + k, sc[k]!);
    view.setUint16(o + 208, float32ToFloat16Bits(d), true);
  }
  return out;
}

describe('K-quants', () => {
  it('decode what the plain packers wrote to within one quantization step', () => {
    const x = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 13) / 5));
    const q4 = decodeGgml(GgmlType.Q4_K, packQ4K(x), 512);
    const q6 = decodeGgml(GgmlType.Q6_K, packQ6K(x), 512);
    const maxAbs = Math.max(...Array.from(x, Math.abs));
    for (let i = 0; i < 512; i++) {
      expect(Math.abs(q4[i]! - x[i]!)).toBeLessThan(((2 * maxAbs) / 15) * 0.75);
      expect(Math.abs(q6[i]! - x[i]!)).toBeLessThan((maxAbs / 31) * 0.75);
    }
    // Not a copy: 4-bit codes lose detail.
    expect(q4.some((v, i) => v !== x[i])).toBe(true);
  });

  it('a Q4_K / Q6_K file imports to a model that continues prompts as llama.cpp does', async () => {
    const ref = await readModelFolder(referenceModelDir());
    const config = parseDecoderConfig({ arch: 'llama', vocabSize: 4096, hiddenSize: 256, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 64, ffnSize: 512, maxPositions: 64, tieEmbeddings: false });
    const dir = path.join(tmp, 'kq');
    await writeModelFolder(dir, { config, weights: initDecoderWeights(config, 5, 0.15), tokenizer: ref.tokenizer, weightDtype: 'float32' });
    const f32 = path.join(tmp, 'kq-f32.gguf');
    await exportGguf(dir, f32, 'f32');
    const header = await readGgufHeader(f32);
    const bytes = await readFile(f32);
    const tensors: GgufTensorOut[] = header.tensors.map((t) => {
      const values = decodeGgml(GgmlType.F32, bytes.subarray(t.offset, t.offset + t.bytes), t.count);
      if (t.ne.length === 1) return { name: t.name, ne: t.ne, type: t.type, data: () => bytes.subarray(t.offset, t.offset + t.bytes) };
      const six = t.name === 'token_embd.weight' || t.name === 'output.weight';
      return { name: t.name, ne: t.ne, type: six ? GgmlType.Q6_K : GgmlType.Q4_K, data: () => (six ? packQ6K(values) : packQ4K(values)) };
    });
    const file = path.join(tmp, 'kq.gguf');
    await writeGguf(file, header.metadata, tensors);
    const out = path.join(tmp, 'kq-back');
    const { report } = await importGguf(file, out);
    expect(report.dtypes).toEqual({ Q6_K: 2, Q4_K: 14, F32: 5 });
    const folder = await readModelFolder(out);
    const session = await createDecoderSession(folder.model);
    const prompt = [50, 60, 70, 80, 90, 100];
    let ours: number[];
    try {
      ours = await generate(session, folder.config, prompt, { maxNewTokens: 12 });
    } finally {
      await session.release();
    }
    expect((await llamaCppGreedy(file, prompt, 12)).tokens).toEqual(ours);
  });
});
