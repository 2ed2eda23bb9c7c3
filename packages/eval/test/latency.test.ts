import { describe, expect, it } from 'vitest';
import { CanceledError } from '@distillery/onnx';
import { causalLm, createSession, measureLatency, measureModelLatency, median, percentile, summarizeTimings } from '../src';
import { tinyDecoder } from './tiny-decoder';

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

describe('latency', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('nearest-rank percentiles are measured values', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 95)).toBe(10);
    expect(percentile(xs, 90)).toBe(9);
    expect(percentile(xs, 100)).toBe(10);
    expect(percentile([7], 95)).toBe(7);
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 95)).toBe(19);
    expect(summarizeTimings(twenty)).toEqual({ count: 20, mean: 10.5, p50: 10, p95: 19, min: 1, max: 20 });
    expect(() => percentile([], 50)).toThrow();
    expect(() => percentile([1], 0)).toThrow(/percentile/);
  });

  it('excludes warm-up runs and reports the percentiles of the timed steps (injected clock)', async () => {
    const tiny = tinyDecoder(5);
    const session = await createSession(tiny.model);
    try {
      // Each timed interval is read as a pair of clock calls; the script gives every
      // interval's length: warm-up intervals take 1000 ms, so any leak would show.
      const [warmup, repeats, promptLength, decodeTokens] = [2, 3, 4, 5];
      const durations: number[] = [];
      for (let r = 0; r < warmup + repeats; r++) {
        const timed = r >= warmup;
        durations.push(timed ? 40 + r : 1000); // prefill
        for (let k = 0; k < decodeTokens; k++) durations.push(timed ? 1 + r * decodeTokens + k : 1000);
      }
      let t = 0;
      let call = 0;
      const now = () => {
        if (call % 2 === 1) t += durations[(call - 1) / 2]!;
        call++;
        return t;
      };
      // CPU time of decode step i: 500 ms in warm-up, then 3, 6, ..., 45 for the 15 timed steps.
      const cpuDurations = Array.from({ length: (warmup + repeats) * decodeTokens }, (_, i) => (i < warmup * decodeTokens ? 500 : 3 * (i - warmup * decodeTokens + 1)));
      let cpu = 0;
      let cpuCall = 0;
      const cpuNow = () => {
        if (cpuCall % 2 === 1) cpu += cpuDurations[(cpuCall - 1) / 2]!;
        cpuCall++;
        return cpu;
      };
      const res = await measureLatency(session, { promptLength, decodeTokens, warmup, repeats, now, cpuNow });
      expect(call).toBe(2 * durations.length);
      expect(cpuCall).toBe(2 * cpuDurations.length);
      expect(res.decodeCpuMsPerToken).toBe(24);
      const timedDecode = Array.from({ length: repeats * decodeTokens }, (_, i) => 1 + warmup * decodeTokens + i); // 11..25
      expect(res.decodeMs.count).toBe(15);
      expect(res.decodeMs.max).toBe(25);
      expect(res.decodeMs.p50).toBe(percentile(timedDecode, 50));
      expect(res.decodeMs.p50).toBe(18);
      expect(res.decodeMs.p95).toBe(25);
      expect(res.decodeMsPerToken).toBe(18);
      expect(res.prefillMs).toBe(43); // median of 42, 43, 44
      expect(res.prefillTokensPerSecond).toBeCloseTo((4 * 1000) / 43, 9);
      expect(res.warmup).toBe(2);
    } finally {
      await session.release();
    }
  });

  it('records the ORT thread count it measured with', async () => {
    const res = await measureModelLatency(tinyDecoder(5).model, { promptLength: 4, decodeTokens: 2, repeats: 1, threads: 2 });
    expect(res.threads).toBe(2);
    expect(res.decodeMs.count).toBe(2);
  });

  it('decodes with the KV cache exactly as full recomputation would, and reports positive medians', async () => {
    const tiny = tinyDecoder(5);
    const V = tiny.config.vocabSize;
    const session = await createSession(tiny.model);
    try {
      const prompt = [3, 14, 15, 92, 65, 35, 89, 79];
      const res = await measureLatency(session, { promptLength: prompt.length, decodeTokens: 6, warmup: 1, repeats: 2, prompt });
      // Greedy continuation recomputed from scratch each step, without any cache.
      const lm = causalLm(session);
      const seq = [...prompt];
      for (let k = 0; k < 6; k++) {
        const { logits } = await lm.forward(seq);
        seq.push(argmax(logits.subarray((seq.length - 1) * V, seq.length * V)));
      }
      expect(res.generated).toEqual(seq.slice(prompt.length));
      expect(res.prefillMs).toBeGreaterThan(0);
      expect(res.decodeMsPerToken).toBeGreaterThan(0);
      expect(res.decodeTokensPerSecond).toBeCloseTo(1000 / res.decodeMsPerToken, 9);
      expect(res.decodeCpuMsPerToken).toBeGreaterThan(0);
      expect(res).toMatchObject({ promptLength: 8, decodeTokens: 6, repeats: 2 });

      await expect(measureLatency(session, { promptLength: 0, decodeTokens: 1 })).rejects.toThrow(/promptLength/);
      const ac = new AbortController();
      ac.abort();
      await expect(measureLatency(session, { promptLength: 4, decodeTokens: 2, signal: ac.signal })).rejects.toBeInstanceOf(CanceledError);
    } finally {
      await session.release();
    }
  });
});
