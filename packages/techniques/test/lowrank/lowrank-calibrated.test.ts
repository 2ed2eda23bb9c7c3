import { beforeAll, describe, expect, it } from 'vitest';
import { sampleSequences } from '@distillery/data';
import type { Model } from '@distillery/onnx';
import { asvdParams, factorizeAsvd, factorizeSvd, factorizeSvdLlm, quietContext, svdLlmParams, svdParams } from '../../src';
import { testPerplexity, tinyCorpus, trainTinyModel } from '../finetune-tiny-lm';

let base: Model;
const ctx = () => quietContext({ calibration: { sequences: sampleSequences(tinyCorpus().train, 16, 64, 3) } });

beforeAll(async () => {
  base = await trainTinyModel(300);
});

describe('activation-aware low-rank', () => {
  it('at the same ranks (same parameters), ASVD and SVD-LLM have lower held-out perplexity than plain SVD', async () => {
    const p = { rank: 8 };
    const plain = await factorizeSvd(base, svdParams.parse(p), quietContext());
    const asvd = await factorizeAsvd(base, asvdParams.parse(p), ctx());
    const whitened = await factorizeSvdLlm(base, svdLlmParams.parse(p), ctx());
    expect(asvd.report.layerParamsAfter).toBe(plain.report.layerParamsAfter);
    expect(whitened.report.layerParamsAfter).toBe(plain.report.layerParamsAfter);
    const [pp, pa, pw] = [await testPerplexity(plain.model), await testPerplexity(asvd.model), await testPerplexity(whitened.model)];
    expect(pa).toBeLessThan(pp);
    expect(pw).toBeLessThan(pp);
  });

  it('need calibration data, saying so; bad alpha is refused by the schema', async () => {
    await expect(factorizeAsvd(base, asvdParams.parse({ rank: 4 }), quietContext())).rejects.toThrow(/lowrank.asvd needs calibration data/);
    await expect(factorizeSvdLlm(base, svdLlmParams.parse({ rank: 4 }), quietContext())).rejects.toThrow(/lowrank.svd-llm needs calibration data/);
    expect(asvdParams.safeParse({ rank: 4, alpha: 2 }).success).toBe(false);
  });
});
