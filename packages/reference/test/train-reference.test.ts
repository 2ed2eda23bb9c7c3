import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decoderPreset, createDecoderSession, runDecoder, logitsAt } from '@distillery/nn';
import { asciiCurve, readModelFolder, referenceRecipe, trainReferenceModel, writeModelFolder } from '../src/index';

describe('reference model training, shortened', () => {
  const recipe = referenceRecipe({
    vocabSize: 384,
    config: decoderPreset('tiny', { vocabSize: 384, maxPositions: 32 }),
    batchSize: 8,
    seqLen: 32,
    steps: 240,
    peakLr: 1e-2,
    evalEvery: 120,
    validationTokens: 2048,
    evalWindow: 32,
    evalStride: 16,
  });

  it('learns (loss falls, test perplexity beats the unigram baseline) and writes a loadable model folder', async () => {
    const { tokenizer, weights, report } = await trainReferenceModel(recipe, { maxTestTokens: 4000 });
    const first = report.lossCurve[0]!.loss;
    const last = report.lossCurve[report.lossCurve.length - 1]!.loss;
    expect(first).toBeGreaterThan(Math.log(384) - 0.5);
    expect(last).toBeLessThan(first - 0.7);
    expect(report.validation.map((v) => v.step)).toEqual([120, 240]);
    expect(report.test.perplexity).toBeLessThan(report.unigramTestPerplexity);
    expect(report.samples).toHaveLength(3);
    expect(report.tokensSeen).toBe(240 * 8 * 32);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'ref-folder-'));
    await writeModelFolder(dir, { config: report.recipe.config, weights, tokenizer, weightDtype: 'float16', training: report });
    const folder = await readModelFolder(dir);
    expect(folder.config).toEqual(report.recipe.config);
    expect(folder.tokenizer.encode('Call me Ishmael.')).toEqual(tokenizer.encode('Call me Ishmael.'));
    const hf = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(hf.model_type).toBe('llama');
    expect(hf.vocab_size).toBe(384);
    expect(folder.training?.unigramTestPerplexity).toBe(report.unigramTestPerplexity);

    // The float16 folder model predicts what the float32 weights predict.
    const session = await createDecoderSession(folder.model);
    const out = await runDecoder(session, folder.config, { inputIds: [tokenizer.encode('The whale')] });
    const row = logitsAt(out, folder.config, 0, out.seq - 1);
    expect(Array.from(row).every(Number.isFinite)).toBe(true);
    await session.release();
  });

  it('draws a loss curve as text with its range labelled', () => {
    const text = asciiCurve([{ step: 1, loss: 8 }, { step: 50, loss: 5 }, { step: 100, loss: 3 }], 20, 5);
    const lines = text.split('\n');
    expect(lines[0]).toContain('8.00');
    expect(lines[4]).toContain('3.00');
    expect(lines[0]!.indexOf('*')).toBeLessThan(lines[4]!.indexOf('*'));
  });
});
