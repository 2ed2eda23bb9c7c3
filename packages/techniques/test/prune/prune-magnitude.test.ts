import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildDecoder, createDecoderSession, decoderWeightsFromModel, initDecoderWeights, isBlockLinearWeight, referenceForward, runDecoder } from '@distillery/nn';
import { readModel, writeModel, type Model } from '@distillery/onnx';
import { finetuneRecover, magnitudeParams, pruneMagnitude, quietContext, recoverParams } from '../../src';
import { ctxWith, tinyConfig, trainTinyModel } from '../finetune-tiny-lm';

const zerosOf = (w: Float32Array) => w.reduce((z, v) => z + (v === 0 ? 1 : 0), 0);

function blockWeights(model: Model): Map<string, Float32Array> {
  const { weights } = decoderWeightsFromModel(model);
  return new Map([...weights].filter(([n]) => isBlockLinearWeight(n)));
}

describe('prune.magnitude', () => {
  const base = buildDecoder(tinyConfig, initDecoderWeights(tinyConfig, 2, 0.2));

  it('50% per layer: exactly half of every block projection is zero, the head is kept, sizes are honest', async () => {
    const out = await pruneMagnitude(base, magnitudeParams.parse({ sparsity: 0.5 }), quietContext());
    for (const [name, w] of blockWeights(out.model)) expect(zerosOf(w), name).toBe(w.length / 2);
    expect(zerosOf(decoderWeightsFromModel(out.model).weights.get('lm_head.weight')!)).toBe(0);
    expect(out.report.sparsity).toBe(0.5);
    expect(out.report.bytesStored).toBeLessThan(out.report.bytesDense as number);
    // bitmap + half the float32 values
    expect(out.report.bytesStored).toBe((out.report.bytesDense as number) / 2 + (out.report.bytesDense as number) / 4 / 8);
  });

  it('2:4 and 4:8: every group of M consecutive inputs of every output keeps exactly N', async () => {
    for (const [n, m] of [[2, 4], [4, 8]] as const) {
      const out = await pruneMagnitude(base, magnitudeParams.parse({ pattern: `${n}:${m}` }), quietContext());
      const { weights } = decoderWeightsFromModel(out.model);
      for (const [name, w] of blockWeights(out.model)) {
        const cols = name.includes('down_proj') || name.includes('o_proj') ? tinyConfig.hiddenSize : w.length / tinyConfig.hiddenSize;
        const rows = w.length / cols;
        for (let c = 0; c < cols; c++) for (let r0 = 0; r0 < rows; r0 += m) {
          let kept = 0;
          for (let i = 0; i < m; i++) kept += w[(r0 + i) * cols + c] !== 0 ? 1 : 0;
          expect(kept).toBe(n);
        }
      }
      expect(weights.size).toBeGreaterThan(0);
    }
  });

  it('global scope: one threshold, exact total sparsity, layers lose different shares', async () => {
    const out = await pruneMagnitude(base, magnitudeParams.parse({ sparsity: 0.6, scope: 'global' }), quietContext());
    const ws = [...blockWeights(out.model).values()];
    const total = ws.reduce((s, w) => s + w.length, 0);
    expect(ws.reduce((s, w) => s + zerosOf(w), 0)).toBe(Math.round(0.6 * total));
    expect(new Set(ws.map((w) => zerosOf(w) / w.length)).size).toBeGreaterThan(1);
  });

  it('output scope: every output of every layer loses exactly half, its smallest |w| (brute force per column)', async () => {
    const out = await pruneMagnitude(base, magnitudeParams.parse({ sparsity: 0.5, scope: 'output' }), quietContext());
    const dense = blockWeights(base);
    let checked = 0;
    for (const [name, w] of blockWeights(out.model)) {
      const cols = name.includes('down_proj') || name.includes('o_proj') ? tinyConfig.hiddenSize : w.length / tinyConfig.hiddenSize;
      const rows = w.length / cols;
      const d = dense.get(name)!;
      for (let c = 0; c < cols; c++) {
        const column = Array.from({ length: rows }, (_, r) => Math.abs(d[r * cols + c]!));
        const threshold = [...column].sort((a, b) => a - b)[rows / 2 - 1]!;
        let zeros = 0;
        for (let r = 0; r < rows; r++) {
          if (w[r * cols + c] === 0) {
            zeros++;
            expect(column[r]!).toBeLessThanOrEqual(threshold);
          } else expect(w[r * cols + c]).toBe(d[r * cols + c]);
        }
        expect(zeros).toBe(rows / 2);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    // Not the per-layer mask: some column keeps a share other than half there.
    const layer = await pruneMagnitude(base, magnitudeParams.parse({ sparsity: 0.5 }), quietContext());
    const perOutput = blockWeights(out.model);
    const differs = [...blockWeights(layer.model)].some(([name, w]) => w.some((v, i) => (v === 0) !== (perOutput.get(name)![i] === 0)));
    expect(differs).toBe(true);
  });

  it('the pruned graph in ORT equals the TypeScript reference forward with the pruned weights', async () => {
    const out = await pruneMagnitude(base, magnitudeParams.parse({ pattern: '2:4' }), quietContext());
    const { config, weights } = decoderWeightsFromModel(out.model);
    const ids = [[3, 14, 15, 92, 65, 35]];
    const session = await createDecoderSession(out.model);
    const got = await runDecoder(session, config, { inputIds: ids });
    await session.release();
    referenceForward(config, weights, ids).logits[0]!.forEach((row, s) => row.forEach((v, k) => expect(got.logits[s * config.vocabSize + k]).toBeCloseTo(v, 4)));
  });

  it('float16 weights stay float16, and the zeros survive save/load and finetune.recover', async () => {
    const trained = await trainTinyModel(60);
    const half = buildDecoder(tinyConfig, decoderWeightsFromModel(trained).weights, { weightDtype: 'float16' });
    const out = await pruneMagnitude(half, magnitudeParams.parse({ sparsity: 0.5 }), quietContext());
    expect(out.model.graph.initializers.find((t) => t.name === 'model.layers.0.mlp.up_proj.weight')?.dtype).toBe('float16');
    const dir = await mkdtemp(path.join(tmpdir(), 'prune-'));
    try {
      await writeModel(out.model, path.join(dir, 'model.onnx'));
      const loaded = await readModel(path.join(dir, 'model.onnx'));
      const before = blockWeights(out.model);
      const after = blockWeights(loaded);
      for (const [name, w] of before) expect(Array.from(after.get(name)!, (v) => v === 0)).toEqual(Array.from(w, (v) => v === 0));
      const recovered = await finetuneRecover(loaded, recoverParams.parse({ steps: 20, batchSize: 4, seqLen: 32 }), ctxWith());
      const rw = blockWeights(recovered.model);
      let moved = 0;
      for (const [name, w] of before) {
        const r = rw.get(name)!;
        for (let i = 0; i < w.length; i++) {
          if (w[i] === 0) expect(r[i]).toBe(0);
          else if (r[i] !== w[i]) moved++;
        }
      }
      expect(moved).toBeGreaterThan(0); // recovery did train the kept weights
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses impossible targets with the field named', async () => {
    expect(magnitudeParams.safeParse({ sparsity: 1 }).error?.issues[0]?.path).toEqual(['sparsity']);
    expect(magnitudeParams.safeParse({}).error?.issues[0]?.message).toMatch(/exactly one of sparsity/);
    expect(magnitudeParams.safeParse({ pattern: '2:4', scope: 'global' }).success).toBe(false);
    await expect(pruneMagnitude(base, magnitudeParams.parse({ pattern: '3:3' }), quietContext())).rejects.toThrow(/pattern 3:3 must keep 1 <= N < M/);
    await expect(pruneMagnitude(base, magnitudeParams.parse({ pattern: '2:5' }), quietContext())).rejects.toThrow(/layer \/model\/layers.0\/self_attn\/q_proj\/MatMul: 2:5 needs the input size to be a multiple of 5, but it is 32/);
  });
});
