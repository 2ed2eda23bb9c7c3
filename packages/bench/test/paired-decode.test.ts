import { describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { medianIndex, pairedDecode } from '../src/paired-decode';

describe('pairedDecode', () => {
  it('interleaves the steps of the models and reports the medians of paired ratios (injected clocks)', async () => {
    const config = decoderPreset('tiny');
    const a = buildDecoder(config, initDecoderWeights(config, 3, 0.3));
    const b = buildDecoder(config, initDecoderWeights(config, 4, 0.3));
    const [warmupTokens, tokens, rounds] = [2, 5, 3];
    // The steps in the order pairedDecode must take them: per step k, model 0 then 1, reversed on odd k.
    const order: { model: number; k: number }[] = [];
    for (const steps of [warmupTokens, ...Array<number>(rounds).fill(tokens)]) {
      for (let k = 0; k < steps; k++) for (const m of k % 2 ? [1, 0] : [0, 1]) order.push({ model: m, k });
    }
    // Model 0 takes 10 ms and model 1 takes 5 ms, both times a load factor that changes every step:
    // only a pairing of neighbouring steps sees the ratio of exactly 2 in every pair.
    const load = (k: number) => 1 + ((k * 7) % 5);
    const script = (perModel: number[]) => {
      let t = 0;
      let call = 0;
      return () => {
        if (call % 2 === 1) {
          const s = order[(call - 1) / 2]!;
          t += perModel[s.model]! * load(s.k);
        }
        call++;
        return t;
      };
    };
    const [r0, r1] = await pairedDecode([{ label: 'a', model: a }, { label: 'b', model: b }], { tokens, rounds, warmupTokens, now: script([10, 5]), cpuNow: script([6, 2]) });
    expect(r0!.steps).toBe(tokens * rounds);
    expect(r1!.wallSpeedup).toBe(2);
    expect(r1!.cpuSpeedup).toBe(3);
    expect(r0!.wallSpeedup).toBe(1);
    const timedLoads = Array.from({ length: rounds }, () => Array.from({ length: tokens }, (_, k) => load(k))).flat().sort((x, y) => x - y);
    expect(r0!.wallMsPerToken).toBe(10 * timedLoads[(timedLoads.length - 1) / 2]!);
    expect(r1!.cpuMsPerToken).toBe(2 * timedLoads[(timedLoads.length - 1) / 2]!);
    expect(r1!.tokPerSec).toBeCloseTo(1000 / r1!.wallMsPerToken, 9);
  });

  it('measures real sessions with the real clocks', async () => {
    const config = decoderPreset('tiny');
    const model = buildDecoder(config, initDecoderWeights(config, 3, 0.3));
    const [r] = await pairedDecode([{ label: 'tiny', model }], { tokens: 4, rounds: 1 });
    expect(r!.wallMsPerToken).toBeGreaterThan(0);
    expect(r!.steps).toBe(4);
  });

  it('medianIndex picks the median measurement of an odd count, the lower middle of an even one, and refuses none', () => {
    expect(medianIndex([1.28, 1.08, 1.2])).toBe(2);
    expect(medianIndex([3, 1, 2, 4])).toBe(2);
    expect(medianIndex([5])).toBe(0);
    expect(() => medianIndex([])).toThrow(/empty/);
  });
});
