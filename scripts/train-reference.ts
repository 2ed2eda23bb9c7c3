/**
 * `npm run train:reference [-- --steps N --out DIR --threads N --resume]`
 * Trains `ref-base` from scratch with the committed recipe and writes its model folder.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ProgressBar } from '@distillery/nn';
import { asciiCurve, referenceModelDir, referenceRecipe, trainReferenceModel, writeModelFolder } from '@distillery/reference';

const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    out: { type: 'string' },
    threads: { type: 'string' },
    checkpoints: { type: 'string' },
  },
});

const recipe = referenceRecipe(values.steps ? { steps: Number(values.steps) } : {});
const out = path.resolve(values.out ?? referenceModelDir(recipe.name));
const threads = Number(values.threads ?? os.availableParallelism());
const bar = new ProgressBar({ total: recipe.steps, tokensPerStep: recipe.batchSize * recipe.seqLen });
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());

const command = ['npm run train:reference', ...(values.steps ? ['--', `--steps ${values.steps}`] : [])].join(' ');
const log = (m: string) => process.stderr.write(`${m}\n`);
const { tokenizer, weights, report } = await trainReferenceModel(recipe, {
  threads,
  log: (m) => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
    log(m);
  },
  onProgress: (p) => bar.update(p.step, p.loss),
  signal: controller.signal,
  checkpointDir: values.checkpoints ? path.resolve(values.checkpoints) : undefined,
});
bar.done();
await writeModelFolder(out, {
  config: report.recipe.config,
  weights,
  tokenizer,
  weightDtype: 'float16',
  training: { command, threads, ...report },
});
log(`\nloss curve:\n${asciiCurve(report.lossCurve)}\n`);
log(`test perplexity ${report.test.perplexity.toFixed(2)} (unigram baseline ${report.unigramTestPerplexity.toFixed(2)}) over ${report.test.tokens} tokens`);
for (const s of report.samples) log(`\n> ${s.prompt}\n  greedy:  ${s.greedy}\n  sampled: ${s.sampled}`);
log(`\nwrote ${out}`);
