import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, referenceForward, runDecoder } from '@distillery/nn';
import { CanceledError } from '@distillery/onnx';
import { logProbAt, modelPerplexity, openScorer, perplexity, slidingWindows, type WindowScorer } from '../src';
import { tinyDecoder, tokenStream } from './tiny-decoder';

/** Naive log-softmax in float64, fine for the small logits of these tests. */
const naiveLogProb = (row: ArrayLike<number>, target: number) =>
  row[target]! - Math.log(Array.from(row).reduce((s, v) => s + Math.exp(v), 0));

/**
 * The Hugging Face guide's loop written out literally: for begin in range(0, n, stride),
 * the window [begin, end) scores its last trg_len = end - prev_end tokens, minus the
 * window's first token (no context). `logitsOf(window)` returns per-position rows.
 */
async function referencePerplexity(tokens: number[], L: number, S: number, logitsOf: (w: number[]) => Promise<ArrayLike<number>[]>) {
  let nll = 0;
  let count = 0;
  let prevEnd = 0;
  for (let begin = 0; begin < tokens.length; begin += S) {
    const end = Math.min(begin + L, tokens.length);
    const trgLen = end - prevEnd;
    const win = tokens.slice(begin, end);
    const rows = await logitsOf(win);
    for (let i = win.length - trgLen; i < win.length; i++) {
      if (i === 0) continue;
      nll -= naiveLogProb(rows[i - 1]!, win[i]!);
      count++;
    }
    prevEnd = end;
    if (end === tokens.length) break;
  }
  return { perplexity: Math.exp(nll / count), tokens: count };
}

describe('slidingWindows', () => {
  it('scores each token once, all but the first in the first window', () => {
    expect(slidingWindows(10, 4, 2)).toEqual([
      { begin: 0, end: 4, scoreFrom: 1 },
      { begin: 2, end: 6, scoreFrom: 4 },
      { begin: 4, end: 8, scoreFrom: 6 },
      { begin: 6, end: 10, scoreFrom: 8 },
    ]);
  });

  it('gives disjoint windows when stride == window, each skipping its first token', () => {
    expect(slidingWindows(9, 4, 4)).toEqual([
      { begin: 0, end: 4, scoreFrom: 1 },
      { begin: 4, end: 8, scoreFrom: 5 },
    ]); // the 1-token tail [8, 9) has nothing to score
  });

  it('rejects fewer than 2 tokens and bad window/stride', () => {
    expect(() => slidingWindows(1, 4, 4)).toThrow(/at least 2 tokens \(got 1\)/);
    expect(() => slidingWindows(0, 4, 4)).toThrow(/at least 2 tokens/);
    expect(() => slidingWindows(10, 1, 1)).toThrow(/window must be/);
    expect(() => slidingWindows(10, 4, 5)).toThrow(/stride must be/);
    expect(() => slidingWindows(10, 4, 0)).toThrow(/stride must be/);
  });
});

describe('logProbAt', () => {
  it('agrees with the naive formula and stays finite for huge logits', () => {
    const row = Float32Array.from([0.5, -1, 2, 0.25]);
    for (let t = 0; t < 4; t++) expect(logProbAt(row, 0, 4, t)).toBeCloseTo(naiveLogProb(row, t), 12);
    const big = Float32Array.from([1e4, 1e4 - 1, 1e4 - 200, -1e4]);
    expect(logProbAt(big, 0, 4, 0)).toBeCloseTo(-Math.log(1 + Math.exp(-1) + Math.exp(-200)), 12);
    expect(logProbAt(big, 0, 4, 3)).toBeCloseTo(-2e4 - Math.log(1 + Math.exp(-1)), 6);
    expect(() => logProbAt(big, 0, 4, 4)).toThrow(/outside the vocabulary/);
  });
});

describe('perplexity', () => {
  const tiny = tinyDecoder(3);
  const V = tiny.config.vocabSize;
  const tokens = tokenStream(53, V);
  let session: WindowScorer;
  beforeAll(async () => {
    session = await openScorer(tiny.model);
  });
  afterAll(async () => {
    await session.release();
  });

  // An independent ORT run per window through packages/nn's own runner.
  const ortRows = async (w: number[]) => {
    const s = await createDecoderSession(tiny.model);
    try {
      const out = await runDecoder(s, tiny.config, { inputIds: [w] });
      return Array.from({ length: w.length }, (_, i) => out.logits.subarray(i * V, (i + 1) * V));
    } finally {
      await s.release();
    }
  };

  for (const [L, S, B] of [[16, 5, 1], [16, 5, 4], [16, 16, 3], [64, 64, 8], [8, 1, 1], [8, 1, 16]] as const) {
    it(`matches the per-window reference to 1e-6 (window ${L}, stride ${S}, ${B} windows per call)`, async () => {
      const got = await perplexity(session, tokens, { window: L, stride: S, batch: B });
      const ref = await referencePerplexity(tokens, L, S, ortRows);
      expect(got.tokens).toBe(ref.tokens);
      expect(Math.abs(got.perplexity - ref.perplexity) / ref.perplexity).toBeLessThan(1e-6);
      expect(got.nll).toBeCloseTo(Math.log(got.perplexity), 12);
      expect(got.windows).toBe(slidingWindows(tokens.length, L, S).length);
      // Random weights with std 0.2 are far from uniform, so this is not trivially V.
      expect(Math.abs(got.perplexity - V)).toBeGreaterThan(1);
    });
  }

  it('with stride == window equals the mean over disjoint chunks evaluated separately', async () => {
    const L = 16;
    const got = await perplexity(session, tokens, { window: L });
    let nll = 0;
    let count = 0;
    for (let b = 0; b < tokens.length; b += L) {
      const chunk = tokens.slice(b, b + L);
      if (chunk.length < 2) continue;
      const rows = await ortRows(chunk);
      for (let i = 1; i < chunk.length; i++, count++) nll -= naiveLogProb(rows[i - 1]!, chunk[i]!);
    }
    expect(got.tokens).toBe(tokens.length - Math.ceil(tokens.length / L));
    expect(got.tokens).toBe(count);
    expect(Math.abs(got.nll - nll / count)).toBeLessThan(1e-6 * (nll / count));
  });

  it('agrees with the float64 reference forward of packages/nn', async () => {
    const L = 16, S = 8;
    const got = await perplexity(session, tokens, { window: L, stride: S });
    const ref = await referencePerplexity(tokens, L, S, async (w) => referenceForward(tiny.config, tiny.weights, [w]).logits[0]!);
    expect(Math.abs(got.perplexity - ref.perplexity) / ref.perplexity).toBeLessThan(1e-4);
  });

  it('is exactly the vocabulary size for a model whose logits are all equal', async () => {
    // Zero embeddings make every hidden state 0, so RMSNorm and the head give logits of 0.
    const zero = new Map([...tiny.weights].map(([k, v]) => [k, k.endsWith('norm.weight') ? v : new Float32Array(v.length)]));
    const res = await modelPerplexity(buildDecoder(tiny.config, zero), tokens, { window: 16, stride: 4 });
    // Per-token log-probabilities come from ORT's float32 LogSoftmax; the sum is float64.
    expect(Math.abs(res.perplexity - V) / V).toBeLessThan(1e-6);
    expect(Math.abs(res.nll - Math.log(V))).toBeLessThan(1e-6);
  });

  it('needs at least 2 tokens and reports progress per window; cancels between windows', async () => {
    await expect(perplexity(session, [5], { window: 16 })).rejects.toThrow(/at least 2 tokens \(got 1\)/);
    await expect(modelPerplexity(tiny.model, [], { window: 16 })).rejects.toThrow(/at least 2 tokens \(got 0\)/);
    await expect(perplexity(session, [1, V], { window: 16 })).rejects.toThrow(/outside the vocabulary/);
    const seen: number[] = [];
    const ac = new AbortController();
    await expect(
      perplexity(session, tokens, {
        window: 16,
        stride: 8,
        batch: 1,
        signal: ac.signal,
        onProgress: (f) => {
          seen.push(f);
          if (seen.length === 2) ac.abort();
        },
      }),
    ).rejects.toBeInstanceOf(CanceledError);
    expect(seen).toEqual([1 / 6, 2 / 6]);
  });
});
