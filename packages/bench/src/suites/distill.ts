/**
 * distill: the teacher (models/ref-base when it is there, else a small teacher trained
 * here first), a student distilled from it with distill.kd, and the same student trained
 * from scratch on hard labels with the same steps, data, batches and seed (distill.kd with
 * alpha = 0, which never runs the teacher). Test perplexity on the bundled test split
 * (first N tokens in quick mode), window = seqLen, disjoint windows. The KD student should
 * beat the scratch student; both figures and the teacher's are printed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { splitBundledCorpora } from '@distillery/data';
import { modelPerplexity } from '@distillery/eval';
import { buildDecoder, decoderPreset, parameterCount, readDecoderConfig, type BpeTokenizer } from '@distillery/nn';
import { serializeModel, type Model } from '@distillery/onnx';
import { MODEL_FILE, readModelFolder, referenceModelDir, referenceRecipe, trainReferenceModel } from '@distillery/reference';
import { distillKd, kdParams, quietContext } from '@distillery/techniques';
import type { BenchRow, BenchSuite } from '../suite';

async function teacherModel(quick: boolean, log: (m: string) => void): Promise<{ model: Model; tokenizer: BpeTokenizer; name: string }> {
  const dir = referenceModelDir();
  if (existsSync(path.join(dir, MODEL_FILE))) {
    const folder = await readModelFolder(dir);
    return { model: folder.model, tokenizer: folder.tokenizer, name: 'teacher (models/ref-base)' };
  }
  log(`no reference model at ${dir}: training a small teacher first (2 blocks of the ref-5m shape)`);
  const steps = quick ? 150 : 600;
  const recipe = referenceRecipe({ steps, seqLen: 128, config: decoderPreset('ref-5m', { maxPositions: 128, nLayers: 2 }), evalEvery: steps, validationTokens: 2048 });
  const r = await trainReferenceModel(recipe, { log, maxTestTokens: 2048, onProgress: (p) => p.step % 50 === 0 && log(`teacher step ${p.step}/${p.total} loss ${p.loss.toFixed(3)}`) });
  return { model: buildDecoder(r.report.recipe.config, r.weights), tokenizer: r.tokenizer, name: `teacher (trained here, ${steps} steps)` };
}

const suite: BenchSuite = {
  name: 'distill',
  description: 'KD student vs the same student trained from scratch: test perplexity, size',
  async run({ quick, log }) {
    const teacher = await teacherModel(quick, log);
    const split = splitBundledCorpora();
    const train = teacher.tokenizer.encodeDocuments(split.train.map((d) => d.text));
    const allTest = teacher.tokenizer.encodeDocuments(split.test.map((d) => d.text));
    const test = allTest.subarray(0, Math.min(allTest.length, quick ? 16_384 : 65_536));
    const seqLen = 128;
    // Quick: ~2 min with models/ref-base, ~3.5 min when a teacher must be trained first.
    const steps = quick ? 300 : 1500;
    const common = {
      student: { layers: 2, hiddenSize: 128, heads: 4, kvHeads: 4, ffnSize: 344 },
      steps,
      batchSize: 8,
      seqLen,
      lr: 2e-3,
      warmup: Math.round(steps / 10),
      seed: 1,
    };
    const ppl = async (m: Model) => (await modelPerplexity(m, test, { window: seqLen })).perplexity;
    const row = (name: string, m: Model, testPpl: number, extra: BenchRow = {}): BenchRow => ({
      name,
      params: parameterCount(readDecoderConfig(m)!),
      bytes: serializeModel(m).model.byteLength,
      testPpl: Math.round(testPpl * 100) / 100,
      ...extra,
    });
    log(`${train.length} train tokens, ${test.length} test tokens; teacher test perplexity...`);
    const rows: BenchRow[] = [row(teacher.name, teacher.model, await ppl(teacher.model))];
    const ctx = quietContext({ trainingTokens: train, onMetric: (_name, step, loss) => step % 50 === 0 && log(`step ${step}/${steps} loss ${loss.toFixed(3)}`) });
    for (const [name, loss] of [
      ['student, KD (forward KL, alpha 0.8, T 1)', { alpha: 0.8, temperature: 1 }],
      ['student, scratch (hard labels)', { alpha: 0 }],
    ] as const) {
      log(`training ${name}, ${steps} steps`);
      const t0 = performance.now();
      const out = await distillKd(teacher.model, kdParams.parse({ ...common, loss }), ctx);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      rows.push(row(name, out.model, await ppl(out.model), { steps, seconds }));
    }
    const [kd, scratch] = [rows[1]!.testPpl as number, rows[2]!.testPpl as number];
    log(`test perplexity: teacher ${rows[0]!.testPpl}, KD student ${kd}, scratch student ${scratch}: KD ${kd < scratch ? 'wins' : 'DOES NOT win'}`);
    return rows;
  },
};

export default suite;
