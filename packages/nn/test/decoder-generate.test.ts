import { describe, expect, it } from 'vitest';
import {
  argmax,
  buildDecoder,
  createDecoderSession,
  createPrng,
  decoderPreset,
  generate,
  initDecoderWeights,
  referenceForward,
  sampleToken,
} from '../src/decoder/index';

describe('generate', () => {
  const c = decoderPreset('tiny', { vocabSize: 64 });
  const w = initDecoderWeights(c, 13, 0.3);

  it('greedy decoding with the KV cache equals argmax of repeated full reference forwards', async () => {
    const session = await createDecoderSession(buildDecoder(c, w));
    const prompt = [5, 12, 40];
    const got = await generate(session, c, prompt, { maxNewTokens: 10 });
    const seq = [...prompt];
    const expected: number[] = [];
    for (let i = 0; i < 10; i++) {
      const logits = referenceForward(c, w, [seq]).logits[0]!;
      const next = argmax(logits[logits.length - 1]!);
      expected.push(next);
      seq.push(next);
    }
    expect(got).toEqual(expected);
    // A non-trivial continuation, so the comparison means something.
    expect(new Set(got).size).toBeGreaterThan(1);
  });

  it('sampling is reproducible per seed, stops at eos, and top-k 1 is greedy', async () => {
    const session = await createDecoderSession(buildDecoder(c, w));
    const prompt = [1, 2, 3];
    const a = await generate(session, c, prompt, { maxNewTokens: 12, temperature: 1.5, seed: 3 });
    const b = await generate(session, c, prompt, { maxNewTokens: 12, temperature: 1.5, seed: 3 });
    const other = await generate(session, c, prompt, { maxNewTokens: 12, temperature: 1.5, seed: 4 });
    expect(a).toEqual(b);
    expect(other).not.toEqual(a);
    const greedy = await generate(session, c, prompt, { maxNewTokens: 12 });
    expect(await generate(session, c, prompt, { maxNewTokens: 12, temperature: 1.5, topK: 1, seed: 9 })).toEqual(greedy);
    const eos = a[4]!;
    const stopped = await generate(session, c, prompt, { maxNewTokens: 12, temperature: 1.5, seed: 3, eosTokenId: eos });
    expect(stopped).toEqual(a.slice(0, a.indexOf(eos) + 1));
  });

  it('stops at maxPositions', async () => {
    const short = decoderPreset('tiny', { vocabSize: 64, maxPositions: 8 });
    const session = await createDecoderSession(buildDecoder(short, initDecoderWeights(short, 1, 0.3)));
    const out = await generate(session, short, [1, 2, 3], { maxNewTokens: 50 });
    expect(out).toHaveLength(6); // positions 3..7 consumed, plus the token predicted at position 7
  });
});

describe('sampleToken', () => {
  it('draws from softmax(logits / T) restricted to the top k', () => {
    const logits = [2, 0.5, 1.5, -1, 1];
    const T = 0.8;
    const k = 3;
    const rng = createPrng(42);
    const counts = new Array<number>(logits.length).fill(0);
    const n = 30000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, T, k, rng)]!++;
    const top = [0, 2, 4];
    const z = top.reduce((s, i) => s + Math.exp(logits[i]! / T), 0);
    for (let i = 0; i < logits.length; i++) {
      const p = top.includes(i) ? Math.exp(logits[i]! / T) / z : 0;
      // 4 standard errors of a binomial proportion.
      expect(Math.abs(counts[i]! / n - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / n) + 1e-12);
    }
  });

  it('is argmax at temperature 0', () => {
    expect(sampleToken([0.1, 3, -2, 2.9], 0, undefined, createPrng(1))).toBe(1);
  });
});
