/**
 * The Minitron-style recipe in a real worker process: FFN channels pruned by calibration
 * activations, one block removed and the result distilled from the unpruned model, then
 * 2:4 SparseGPT; each step reads the recipe's calibration set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '@distillery/artifacts';
import { readDecoderConfig } from '@distillery/nn';
import { decodeModel, inspectModel } from '@distillery/onnx';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, waitForStatus, waitStarted, type Fixture, type RecipeInput, type WorkerProcess } from './run-fixtures';

let f: Fixture;
let worker: WorkerProcess;

beforeAll(async () => {
  f = await createFixture();
  worker = spawnWorker(f);
  await waitStarted(worker);
});

afterAll(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  await Promise.race([worker?.exited, new Promise((r) => setTimeout(r, 20_000))]);
  await f?.close();
});

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
