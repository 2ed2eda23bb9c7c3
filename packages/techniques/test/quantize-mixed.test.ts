import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '@distillery/onnx';
import { sampleSequences } from '@distillery/data';
import { mixed, mixedParams } from '../src/quantize/mixed';
import { quietContext } from '../src';
import type { SensitivityRow } from '../src/sensitivity/layer-sensitivity';
import { tinyCorpus, trainTinyModel, testPerplexity } from './finetune-tiny-lm';

describe('quantize.mixed', () => {
  let model: Model;
  let seqs: Int32Array[];
  beforeAll(async () => {
    model = await trainTinyModel(150);
    seqs = sampleSequences(tinyCorpus().train, 4, 48, 3);
  });

  it('gives each layer a width from its measured sensitivity within the bit budget, and stores the table', async () => {
    // Group 32: 2/3/4/8 bits cost 3/4/5/9 stored bits per weight; 4.0 is the budget of uniform 3-bit.
    const params = mixedParams.parse({ targetBitsPerWeight: 4, groupSize: 32, choices: [2, 3, 4, 8], format: 'bitpacked' });
    const out = await mixed.apply(model, params, quietContext({ calibration: { sequences: seqs } }));
    const allocation = JSON.parse(out.report.allocation as string) as Record<string, number>;
    const table = JSON.parse(out.report.sensitivity as string) as SensitivityRow[];
    const layers = [...new Set(table.map((r) => r.layer))];
    expect(layers.length).toBe(out.report.layersRewritten);
    expect(table.length).toBe(layers.length * 4);
    expect(Object.keys(allocation).sort()).toEqual([...layers].sort());
    const weights = new Map(table.map((r) => [r.layer, r.weights]));
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    const bpw = (b: number) => b + 1; // 32-bit scale per 32 rows
    const nominal = Object.entries(allocation).reduce((s, [l, b]) => s + weights.get(l)! * bpw(b), 0) / total;
    expect(nominal).toBeLessThanOrEqual(4);
    expect(out.report.averageBits).toBeCloseTo(nominal - 1, 3);
    // Stored at the true widths: the file holds what the allocation counted, plus under 1 KiB of unpacking constants shared by all layers.
    const extraBytes = (((out.report.bitsPerWeight as number) - nominal) * total) / 8;
    expect(extraBytes).toBeGreaterThan(0);
    expect(extraBytes).toBeLessThan(1024);
    // The exact allocation is at least as good (by the summed KL) as uniform 3-bit, which fits the same budget.
    const kl = (layer: string, bits: number) => table.find((r) => r.layer === layer && r.bits === bits)!.kl;
    const uniform3 = layers.reduce((s, l) => s + kl(l, 3), 0);
    expect(out.report.predictedKl as number).toBeLessThanOrEqual(uniform3 + 1e-12);
    expect(out.report.predictedKl as number).toBeCloseTo(Object.entries(allocation).reduce((s, [l, b]) => s + kl(l, b), 0), 12);
    expect(Number.isFinite(await testPerplexity(out.model))).toBe(true);
  });

  it('asks for calibration data when the recipe has none', async () => {
    await expect(mixed.apply(model, mixedParams.parse({ targetBitsPerWeight: 4 }), quietContext())).rejects.toThrow(/quantize.mixed measures per-layer sensitivity on calibration text/);
  });

  it('rejects a target outside its bounds and repeated widths', () => {
    expect(mixedParams.safeParse({ targetBitsPerWeight: 1 }).success).toBe(false);
    expect(mixedParams.safeParse({ targetBitsPerWeight: 4, choices: [4, 4] }).success).toBe(false);
    const nbits3 = mixedParams.safeParse({ targetBitsPerWeight: 4, choices: [2, 3, 4], format: 'matmulnbits' });
    expect(nbits3.success).toBe(false);
    expect(nbits3.error!.issues[0]!.path).toEqual(['choices']);
    expect(nbits3.error!.issues[0]!.message).toMatch(/format "matmulnbits" runs bits 2, 4, 8 in onnxruntime 1.30, not 3/);
    expect(mixedParams.safeParse({ targetBitsPerWeight: 4, choices: [2, 4, 8], format: 'matmulnbits', groupSize: 64 }).success).toBe(true);
  });
});
