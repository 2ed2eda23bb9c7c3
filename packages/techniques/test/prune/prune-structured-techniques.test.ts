import { beforeAll, describe, expect, it } from 'vitest';
import { sampleSequences } from '@distillery/data';
import { buildDecoder, decoderPreset, initDecoderWeights, readDecoderConfig, toHfConfig } from '@distillery/nn';
import { inspectModel, type Model } from '@distillery/onnx';
import { ffnChannelsParams, headsParams, pruneBlocks, pruneWidth, widthParams, pruneBlocksParams, pruneFfn, pruneHeads, quantizeRtnInt8, quietContext, rtnInt8Params } from '../../src';
import { ctxWith, testPerplexity, tinyCorpus, trainTinyModel } from '../finetune-tiny-lm';

let base: Model;
const ctx = () => ctxWith({ calibration: { sequences: sampleSequences(tinyCorpus().train, 8, 64, 3) } });

beforeAll(async () => {
  base = await trainTinyModel(300);
});

describe('structured pruning techniques', () => {
  it('prune.ffn-channels 30%: smaller dense model and config; distilling from the unpruned model recovers perplexity', async () => {
    const pruned = await pruneFfn(base, ffnChannelsParams.parse({ ratio: 0.3 }), ctx());
    expect(readDecoderConfig(pruned.model)!.ffnSize).toBe(64 - 19);
    expect(JSON.parse(pruned.report.config as string).intermediate_size).toBe(45);
    expect(inspectModel(pruned.model).parameterCount).toBeLessThan(inspectModel(base).parameterCount);
    const distilled = await pruneFfn(base, ffnChannelsParams.parse({ ratio: 0.3, distill: { steps: 40, batchSize: 4, seqLen: 32, lr: 2e-3, warmup: 4 } }), ctx());
    expect(readDecoderConfig(distilled.model)!.ffnSize).toBe(45);
    const [before, after] = [await testPerplexity(pruned.model), await testPerplexity(distilled.model)];
    expect(after).toBeLessThan(before);
  });

  it('prune.heads removes a KV group with its query heads; removing every group is refused', async () => {
    const out = await pruneHeads(base, headsParams.parse({ groups: 1 }), ctx());
    expect(readDecoderConfig(out.model)).toMatchObject({ nHeads: 2, nKvHeads: 1, headDim: 8, hiddenSize: 32 });
    expect(Number.isFinite(await testPerplexity(out.model))).toBe(true);
    await expect(pruneHeads(base, headsParams.parse({ groups: 2 }), ctx())).rejects.toThrow(/would prune every head of a layer/);
  });

  it('prune.width narrows the hidden size everywhere and writes it to the config; distillation lowers perplexity; impossible targets refused', async () => {
    const out = await pruneWidth(base, widthParams.parse({ ratio: 0.25 }), ctx());
    const c = readDecoderConfig(out.model)!;
    expect(c).toMatchObject({ hiddenSize: 24, nHeads: 4, headDim: 8, ffnSize: 64 });
    expect(toHfConfig(c).hidden_size).toBe(24);
    expect(JSON.parse(out.report.config as string).hidden_size).toBe(24);
    const distilled = await pruneWidth(base, widthParams.parse({ ratio: 0.25, distill: { steps: 40, batchSize: 4, seqLen: 32, lr: 2e-3, warmup: 4 } }), ctx());
    expect(await testPerplexity(distilled.model)).toBeLessThan(await testPerplexity(out.model));
    await expect(pruneWidth(base, widthParams.parse({ keep: 32 }), ctx())).rejects.toThrow(/removes nothing/);
    expect(() => widthParams.parse({ ratio: 1 })).toThrow();
    // A tied LM head reads the final norm too, and the shrunk table serves both ends.
    const tiedConfig = decoderPreset('tiny', { tieEmbeddings: true });
    const tied = await pruneWidth(buildDecoder(tiedConfig, initDecoderWeights(tiedConfig, 2)), widthParams.parse({ keep: 16 }), ctx());
    expect(readDecoderConfig(tied.model)).toMatchObject({ hiddenSize: 16, tieEmbeddings: true });
    expect(Number.isFinite(await testPerplexity(tied.model))).toBe(true);
  });

  it('prune.blocks with distillation', async () => {
    const out = await pruneBlocks(base, pruneBlocksParams.parse({ blocks: [1], distill: { steps: 10, batchSize: 4, seqLen: 32 } }), ctx());
    expect(readDecoderConfig(out.model)!.nLayers).toBe(1);
    expect(out.report.distillSteps).toBe(10);
  });

  it('refuses a quantized model, naming the order to use', async () => {
    const q = await quantizeRtnInt8(base, rtnInt8Params.parse({}), quietContext());
    await expect(pruneFfn(q.model, ffnChannelsParams.parse({ ratio: 0.3 }), ctx())).rejects.toThrow(/prune before quantizing/);
  });
});
