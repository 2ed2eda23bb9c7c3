/**
 * Cost of one per-layer sensitivity probe on ref-base, the old way (a rewritten model and a
 * session per probe: klOnCalibration) against the shared session (weights as inputs:
 * klWithScorer), alternated so machine load hits both alike. Same 8 x 256 calibration tokens
 * as the quant suite's mixed-precision row. Run: npx tsx packages/bench/src/probe-cost.ts
 */
import { sampleSequences, splitBundledCorpora } from '@distillery/data';
import { calibrationBase, klOnCalibration, klWithScorer, median, openScorer } from '@distillery/eval';
import { readModelFolder, referenceModelDir } from '@distillery/reference';
import type { ort } from '@distillery/onnx';
import { dequantizeWeight, quantizeWeight, quietContext, rewriteLinear, selectLinearLayers, targetOf, weightFeed, weightsAsInputs } from '@distillery/techniques';

async function main(): Promise<void> {
  const folder = await readModelFolder(referenceModelDir());
  const train = folder.tokenizer.encodeDocuments(splitBundledCorpora().train.map((d) => d.text));
  const seqs = sampleSequences(train, 64, 256, 0).slice(0, 8);
  const model = folder.model;
  const sel = selectLinearLayers(model).selected;
  const base = await calibrationBase(model, seqs);
  const probed = weightsAsInputs(model, sel);
  const baseFeeds: Record<string, ort.Tensor> = Object.fromEntries(probed.inputs.map((w) => [w.input, weightFeed(w, targetOf(w.layer).values)]));
  let feeds = baseFeeds;
  const scorer = await openScorer(probed.model, { withBase: true, inputs: { names: probed.inputs.map((w) => w.input), feeds: () => feeds } });
  const oldMs: number[] = [];
  const newMs: number[] = [];
  try {
    for (const [i, l] of sel.entries()) {
      if (i % 4 !== 0) continue;
      const spec = { bits: 3, symmetric: true, groupSize: 64 };
      let t = performance.now();
      const candidate = await rewriteLinear(model, { technique: 't', layers: [l], format: 'dequantize-linear', ctx: quietContext(), method: (x) => ({ kind: 'quantized', weight: quantizeWeight(x.values, x.inFeatures, x.outFeatures, spec, x.name) }) });
      const a = await klOnCalibration(base, candidate.model, seqs);
      oldMs.push(performance.now() - t);
      t = performance.now();
      const w = probed.inputs[i]!;
      feeds = { ...baseFeeds, [w.input]: weightFeed(w, dequantizeWeight(quantizeWeight(targetOf(l).values, l.layer.inFeatures, l.layer.outFeatures, spec, l.name))) };
      const b = await klWithScorer(base, scorer, seqs);
      newMs.push(performance.now() - t);
      console.log(`${l.name}: session per probe ${oldMs.at(-1)!.toFixed(0)} ms (KL ${a.kl.toFixed(5)}), shared session ${newMs.at(-1)!.toFixed(0)} ms (KL ${b.kl.toFixed(5)})`);
    }
  } finally {
    await scorer.release();
  }
  console.log(`median per probe: session per probe ${median(oldMs).toFixed(0)} ms, shared session ${median(newMs).toFixed(0)} ms, ratio ${(median(oldMs) / median(newMs)).toFixed(2)}`);
}

void main();
