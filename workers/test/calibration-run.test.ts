/**
 * A recipe with `calibration`: a real worker process samples the calibration set with the
 * base model's tokenizer, hands it to the technique and records it as the run's
 * calibration artifact, whose sha256 is recomputed here independently.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '@distillery/artifacts';
import { sampleSequences, splitBundledCorpora } from '@distillery/data';
import { readDecoderConfig } from '@distillery/nn';
import { decodeModel, inspectModel } from '@distillery/onnx';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, stopWorker, waitForStatus, waitStarted, type Fixture, type RecipeInput, type WorkerProcess } from './run-fixtures';

let f: Fixture;
let worker: WorkerProcess;

beforeAll(async () => {
  f = await createFixture();
  worker = spawnWorker(f);
  await waitStarted(worker);
});

afterAll(async () => {
  await stopWorker(worker);
  await f?.close();
});

const withCalibration = (calibration: unknown, steps: RecipeInput['steps']): RecipeInput => ({ steps, calibration } as RecipeInput);

describe('recipe.calibration in a worker run', () => {
  it('samples the set with the model tokenizer, hands it to the technique and records its content hash', async () => {
    const baseId = await addTinyDecoder(f, 21);
    const settings = { source: 'bundled:train', sequences: 4, length: 32, seed: 7 };
    const runId = await enqueueRun(f, baseId, withCalibration(settings, [{ technique: 'quantize.rtn', params: { bits: 4, clipSearch: true } }]));
    await waitForStatus(f, runId, ['succeeded', 'failed'], 90_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { artifacts: true, metrics: true } });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');

    // Independently: the same windows of the train split in the same tokenizer, as little-endian int32.
    const tokens = f.tokenizer.encodeDocuments(splitBundledCorpora().train.map((d) => d.text));
    const windows = sampleSequences(tokens, 4, 32, 7);
    const bytes = Buffer.alloc(4 * 32 * 4);
    windows.flatMap((w) => Array.from(w)).forEach((t, i) => bytes.writeInt32LE(t, i * 4));
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    const artifact = run.artifacts.find((a) => a.kind === 'calibration');
    expect(artifact?.sha256).toBe(sha256);
    expect(Number(artifact!.bytes)).toBe(4 * 32 * 4);
    expect(Buffer.from(await readArtifact(f.store, sha256)).equals(bytes)).toBe(true);

    // The technique received the sequences: it reports what it calibrated on.
    const metric = (name: string) => run.metrics.find((m) => m.name === name)?.value;
    expect(metric('steps.0.report.calibrationSequences')).toBe(4);
    expect(metric('steps.0.report.calibrationTokens')).toBe(128);
    const report = JSON.parse((await readArtifact(f.store, run.artifacts.find((a) => a.kind === 'report')!.sha256)).toString('utf8'));
    expect(report.calibration).toEqual({ ...settings, sha256 });
  });

  it('fails a run whose calibration settings are invalid, naming the field', async () => {
    const baseId = await addTinyDecoder(f, 22);
    const runId = await enqueueRun(f, baseId, withCalibration({ source: 'bundled:everything', sequences: 4 }, [{ technique: 'quantize.rtn', params: {} }]));
    await waitForStatus(f, runId, ['succeeded', 'failed'], 60_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/invalid recipe\.calibration: source: source must be 'bundled:train', 'bundled:validation' or a dataset id/);
  });
});

// The Minitron-style recipe: FFN channels pruned by calibration activations, one block removed and
// distilled from the unpruned model, then 2:4 SparseGPT; each step reads the recipe's calibration set.
describe('a pruning recipe in a worker run', () => {
  it('prunes width and depth, distills from the unpruned model and applies 2:4 SparseGPT', async () => {
    const baseId = await addTinyDecoder(f, 31);
    const recipe = {
      steps: [
        { technique: 'prune.ffn-channels', params: { ratio: 0.25 } },
        { technique: 'prune.blocks', params: { count: 1, importance: 'block-influence', distill: { steps: 5, batchSize: 2, seqLen: 32 } } },
        { technique: 'prune.sparsegpt', params: { pattern: '2:4' } },
      ],
      calibration: { source: 'bundled:train', sequences: 4, length: 32, seed: 3 },
    } as RecipeInput;
    const runId = await enqueueRun(f, baseId, recipe);
    await waitForStatus(f, runId, ['succeeded', 'failed'], 150_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { metrics: true, steps: { include: { outputModel: true } } } });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const metric = (name: string) => run.metrics.find((m) => m.name === name)?.value;
    expect(metric('steps.0.report.ffnSizeAfter')).toBe(48);
    expect(metric('steps.1.report.distillSteps')).toBe(5);
    expect(metric('steps.2.report.sparsity')).toBe(0.5);
    const last = run.steps.sort((a, b) => a.index - b.index).at(-1)!.outputModel!;
    const model = decodeModel(await readArtifact(f.store, last.sha256));
    expect(readDecoderConfig(model)).toMatchObject({ ffnSize: 48, nLayers: 1 });
    expect(inspectModel(model).parameterCount).toBeLessThan(Number((await f.prisma.model.findUniqueOrThrow({ where: { id: baseId } })).parameterCount));
  });
});
