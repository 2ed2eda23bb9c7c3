import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '@distillery/onnx';
import { sampleSequences } from '@distillery/data';
import { calibrationBase, klOnCalibration } from '@distillery/eval';
import { awqParams, awqTechnique, gptqParams, gptqTechnique, quietContext, rtn, rtnParams, registry } from '../src';
import { tinyCorpus, trainTinyModel } from './finetune-tiny-lm';

describe('quantize.gptq and quantize.awq on a trained model', () => {
  let model: Model;
  let calib: Int32Array[];
  let held: Int32Array[];
  let klOf: (m: Model) => Promise<number>;
  beforeAll(async () => {
    model = await trainTinyModel(300);
    calib = sampleSequences(tinyCorpus().train, 16, 64, 11);
    held = sampleSequences(tinyCorpus().test, 16, 64, 12);
    const base = await calibrationBase(model, held);
    klOf = async (m) => (await klOnCalibration(base, m, held)).kl;
  });

  const grid = { bits: 3, groupSize: 16, symmetric: false };

  it('both beat round-to-nearest on the same grid (KL against the base on held-out text; AWQ by its scaling alone)', async () => {
    const ctx = quietContext({ calibration: { sequences: calib } });
    const r = await rtn.apply(model, rtnParams.parse(grid), ctx);
    const g = await gptqTechnique.apply(model, gptqParams.parse(grid), ctx);
    const a = await awqTechnique.apply(model, awqParams.parse({ ...grid, clip: false }), ctx);
    const [kr, kg, ka] = [await klOf(r.model), await klOf(g.model), await klOf(a.model)];
    expect(kg).toBeLessThan(kr);
    expect(ka).toBeLessThan(kr);
    expect(g.report.layersRewritten).toBe(r.report.layersRewritten);
  });

  it('AWQ folds 1/s into the norms and the up projections, and uses a Mul only before o_proj', async () => {
    const a = await awqTechnique.apply(model, awqParams.parse({ ...grid, gridPoints: 10 }), quietContext({ calibration: { sequences: calib } }));
    const alphas = JSON.parse(a.report.alphas as string) as Record<string, number>;
    expect(Object.keys(alphas)).toHaveLength(a.report.layersRewritten as number);
    const explicit = a.model.graph.nodes.filter((n) => n.name.endsWith('/InputScale'));
    expect(explicit.length).toBe(a.report.explicitMul);
    for (const n of explicit) expect(n.name).toMatch(/o_proj/);
    expect((a.report.foldedIntoNorm as number) + (a.report.foldedIntoLinear as number) + (a.report.explicitMul as number)).toBe(a.report.groupsScaled);
  });

  it("AWQ with clipQK false clips every layer but q and k, as the authors' auto_clip", async () => {
    const ctx = quietContext({ calibration: { sequences: calib } });
    const run = async (p: Record<string, unknown>) => {
      const out = await awqTechnique.apply(model, awqParams.parse({ ...grid, gridPoints: 4, ...p }), ctx);
      return new Map(out.model.graph.initializers.map((t) => [t.name, Buffer.from(t.raw).toString('hex')]));
    };
    const [all, noQK, none] = [await run({}), await run({ clipQK: false }), await run({ clip: false })];
    const isQK = (name: string) => /(q|k)_proj/.test(name);
    let qkClipped = 0;
    let othersClipped = 0;
    for (const [name, bytes] of noQK) {
      if (isQK(name)) {
        expect(bytes).toBe(none.get(name));
        if (all.get(name) !== bytes) qkClipped++;
      } else {
        expect(bytes).toBe(all.get(name));
        if (none.get(name) !== bytes) othersClipped++;
      }
    }
    expect(qkClipped).toBeGreaterThan(0);
    expect(othersClipped).toBeGreaterThan(0);
  });

  it('refuse 3 bits as MatMulNBits and a group MatMulNBits cannot store when parsing, naming the parameter', () => {
    for (const schema of [gptqParams, awqParams]) {
      const bits = schema.safeParse({ bits: 3, format: 'matmulnbits' });
      expect(bits.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['bits', expect.stringMatching(/runs bits 2, 4, 8 in onnxruntime 1.30, not 3/)]]);
      const group = schema.safeParse({ bits: 4, groupSize: 48, format: 'matmulnbits' });
      expect(group.error!.issues[0]!.path).toEqual(['groupSize']);
    }
  });

  it('need calibration data, and are registered', async () => {
    await expect(gptqTechnique.apply(model, gptqParams.parse({}), quietContext())).rejects.toThrow(/quantize.gptq needs calibration data/);
    await expect(awqTechnique.apply(model, awqParams.parse({}), quietContext())).rejects.toThrow(/quantize.awq needs calibration data/);
    expect(registry.has('quantize.gptq') && registry.has('quantize.awq')).toBe(true);
  });
});
