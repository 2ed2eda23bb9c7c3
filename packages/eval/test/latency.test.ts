import { describe, expect, it } from 'vitest';
import { CanceledError } from '@distillery/onnx';
import { causalLm, createSession, measureLatency, median } from '../src';
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
