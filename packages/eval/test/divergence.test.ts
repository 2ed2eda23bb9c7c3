import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildDecoder, createDecoderSession, runDecoder } from '@distillery/nn';
import {
  cachedBase,
  calibrationBase,
  klOnCalibration,
  layerSensitivity,
  liveBase,
  mergePerplexity,
  windowShares,
  MemoryBaseRows,
  openFileRows,
  openScorer,
  perplexity,
  recordRows,
  slidingWindows,
  writeFileRows,
  type WindowScorer,
} from '../src';
import { tinyDecoder, tokenStream } from './tiny-decoder';

/** log-softmax of one row in float64, the slow obvious way. */
function logSoftmax(row: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(row));
  const lse = max + Math.log(Array.from(row).reduce((s, v) => s + Math.exp(v - max), 0));
  return Array.from(row, (v) => v - lse);
}

const tiny = tinyDecoder(3);
const other = tinyDecoder(9);
const V = tiny.config.vocabSize;
const tokens = tokenStream(70, V, 11);
// Zero embeddings make every hidden state 0, so every logit is 0: the uniform distribution.
const uniformModel = buildDecoder(tiny.config, new Map([...tiny.weights].map(([k, v]) => [k, k.endsWith('norm.weight') ? v : new Float32Array(v.length)])));

let base: WindowScorer;
beforeAll(async () => {
  base = await openScorer(tiny.model);
});
afterAll(async () => {
  await base.release();
});

/** Per scored token, a model's (default: the base's) log-distribution from an independent plain ORT run per window. */
async function referenceRows(L: number, S: number, model = tiny.model): Promise<number[][]> {
  const s = await createDecoderSession(model);
  try {
    const rows: number[][] = [];
    for (const w of slidingWindows(tokens.length, L, S)) {
      const win = tokens.slice(w.begin, w.end);
      const out = await runDecoder(s, tiny.config, { inputIds: [win] });
      for (let t = w.scoreFrom; t < w.end; t++) rows.push(logSoftmax(out.logits.subarray((t - 1 - w.begin) * V, (t - w.begin) * V)));
    }
    return rows;
  } finally {
    await s.release();
  }
}

describe('divergence from the base', () => {
  it('of a model against itself: KL 0, top-1 and top-5 agreement 1', async () => {
    const self = await openScorer(tiny.model, { withBase: true });
    try {
      const res = await perplexity(self, tokens, { window: 16, stride: 6, batch: 3, base: liveBase(base) });
      expect(res.divergence!.tokens).toBe(res.tokens);
      expect(res.divergence!.kl).toBeLessThan(1e-6);
      expect(res.divergence!.top1).toBe(1);
      expect(res.divergence!.top5).toBe(1);
    } finally {
      await self.release();
    }
  });

  it('against the uniform model equals log V - H(base) per token, averaged', async () => {
    const [L, S] = [16, 6];
    const rows = await referenceRows(L, S);
    const analytic = rows.reduce((sum, lp) => sum + Math.log(V) + lp.reduce((h, l) => h + Math.exp(l) * l, 0), 0) / rows.length;
    const uniform = await openScorer(uniformModel, { withBase: true });
    try {
      const res = await perplexity(uniform, tokens, { window: L, stride: S, batch: 4, base: liveBase(base) });
      expect(res.divergence!.tokens).toBe(rows.length);
      expect(analytic).toBeGreaterThan(0.5); // far from 0, so agreement with it means something
      expect(Math.abs(res.divergence!.kl - analytic)).toBeLessThan(1e-5 * analytic);
      // The uniform model's TopK of equal logits picks the lowest ids: agreement is how often the base's argmax is id 0 (or 0-4).
      const argmax = rows.map((lp) => lp.indexOf(Math.max(...lp)));
      expect(res.divergence!.top1).toBeCloseTo(argmax.filter((a) => a === 0).length / rows.length, 12);
      expect(res.divergence!.top5).toBeCloseTo(argmax.filter((a) => a < 5).length / rows.length, 12);
    } finally {
      await uniform.release();
    }
  });

  it('against another model equals KL(p_base || p_model) and argmax agreement from float64 softmax rows', async () => {
    const [L, S] = [16, 6];
    // The base's weights moved a third of the way to another model's: close enough that some argmaxes agree.
    const near = buildDecoder(tiny.config, new Map([...tiny.weights].map(([k, v]) => [k, v.map((x, i) => x + (other.weights.get(k)![i]! - x) / 3)])));
    const [p, q] = [await referenceRows(L, S), await referenceRows(L, S, near)];
    const kls = p.map((lp, i) => lp.reduce((sum, l, j) => sum + Math.exp(l) * (l - q[i]![j]!), 0));
    const reference = kls.reduce((a, b) => a + b, 0) / kls.length;
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    const agree = p.filter((lp, i) => argmax(lp) === argmax(q[i]!)).length / p.length;
    const cand = await openScorer(near, { withBase: true });
    try {
      const res = await perplexity(cand, tokens, { window: L, stride: S, batch: 4, base: liveBase(base) });
      expect(res.divergence!.tokens).toBe(p.length);
      expect(reference).toBeGreaterThan(0.05);
      expect(Math.abs(res.divergence!.kl - reference)).toBeLessThan(1e-5 * reference);
      expect(res.divergence!.klMax).toBeCloseTo(Math.max(...kls), 5);
      expect(agree).toBeGreaterThan(0);
      expect(agree).toBeLessThan(1); // some positions disagree, so both outcomes are checked
      expect(res.divergence!.top1).toBeCloseTo(agree, 12);
    } finally {
      await cand.release();
    }
  });

  it('from cached rows (memory and disk) equals the live comparison, and a sweep never reruns the base', async () => {
    const opts = { window: 16, stride: 6, batch: 4 } as const;
    const memory = new MemoryBaseRows(V);
    const dir = await mkdtemp(path.join(tmpdir(), 'eval-base-cache-'));
    const key = 'ab'.repeat(16);
    try {
      const writer = await writeFileRows(dir, key, V);
      expect(await openFileRows(dir, key)).toBeNull(); // nothing visible before commit
      const baseRun = await perplexity(base, tokens, {
        ...opts,
        record: async (view) => {
          await recordRows(memory)(view);
          await recordRows(writer)(view);
        },
      });
      await writer.commit();
      expect(memory.rows).toBe(baseRun.tokens);
      const onDisk = (await openFileRows(dir, key))!;
      expect(onDisk.rows).toBe(baseRun.tokens);
      expect((await readdir(dir)).sort()).toEqual([`${key}.json`, `${key}.logprobs`, `${key}.top1`]);

      const cand = await openScorer(other.model, { withBase: true });
      try {
        const live = await perplexity(cand, tokens, { ...opts, base: liveBase(base) });
        const fromMemory = await perplexity(cand, tokens, { ...opts, base: cachedBase(memory) });
        const fromDisk = await perplexity(cand, tokens, { ...opts, base: cachedBase(onDisk) });
        expect(live.divergence!.kl).toBeGreaterThan(0.05);
        for (const r of [fromMemory, fromDisk]) {
          expect(r.divergence!.tokens).toBe(live.divergence!.tokens);
          expect(Math.abs(r.divergence!.kl - live.divergence!.kl)).toBeLessThan(1e-6 * live.divergence!.kl);
          expect(r.divergence!.top1).toBe(live.divergence!.top1);
          expect(r.divergence!.top5).toBe(live.divergence!.top5);
        }
        // Split in window shares (one per thread), each reading its own rows of the cache: the merge equals the whole.
        const windows = slidingWindows(tokens.length, opts.window, opts.stride).length;
        const parts = await Promise.all(windowShares(windows, 3).map((share) => perplexity(cand, tokens, { ...opts, share, base: cachedBase(onDisk) })));
        const merged = mergePerplexity(parts);
        expect(merged.tokens).toBe(live.tokens);
        expect(merged.windows).toBe(live.windows);
        expect(Math.abs(merged.nll - live.nll)).toBeLessThan(1e-9 * live.nll);
        expect(Math.abs(merged.divergence!.kl - live.divergence!.kl)).toBeLessThan(1e-6 * live.divergence!.kl);
        expect(merged.divergence!.top1).toBeCloseTo(live.divergence!.top1, 12);
        // A cache made for fewer tokens is refused with a reason, not silently misread.
        await expect(perplexity(cand, tokenStream(200, V, 11), { ...opts, base: cachedBase(memory) })).rejects.toThrow(/made for other settings/);
      } finally {
        await cand.release();
        await onDisk.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('klOnCalibration: 0 for the base itself, the live figure for another model', async () => {
    const seqs = [tokenStream(12, V, 1), tokenStream(12, V, 2), tokenStream(12, V, 3)];
    const cal = await calibrationBase(tiny.model, seqs, { batch: 2 });
    expect(cal.rows.rows).toBe(3 * 11);
    const self = await klOnCalibration(cal, tiny.model, seqs);
    expect(self.kl).toBeLessThan(1e-6);
    expect(self.top1).toBe(1);
    expect(self.nll).toBeCloseTo(cal.nll, 6);
    const diff = await klOnCalibration(cal, other.model, seqs);
    const cand = await openScorer(other.model, { withBase: true });
    try {
      const live = await perplexity(cand, Int32Array.from(seqs.flat()), { window: 12, base: liveBase(base) });
      expect(diff.kl).toBeCloseTo(live.divergence!.kl, 6);
      expect(diff.nll).toBeCloseTo(live.nll, 6);
    } finally {
      await cand.release();
    }
    await expect(klOnCalibration(cal, other.model, seqs.slice(0, 2))).rejects.toThrow(/scored on 3 x 12/);
    const row = layerSensitivity({ node: '/model/layers.0/mlp/down_proj/MatMul', block: 0, role: 'down' }, { kind: 'quantize', bits: 4 }, diff);
    expect(row).toMatchObject({ layer: '/model/layers.0/mlp/down_proj/MatMul', block: 0, kl: diff.kl, top1: diff.top1 });
    expect(row.perplexityRatio).toBeCloseTo(Math.exp(diff.nll) / Math.exp(cal.nll), 9);
  });
});
