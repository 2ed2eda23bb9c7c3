/**
 * `recipe.eval.sensitivity`: a real worker process measures the output model's per-layer
 * sensitivity in a thread, on windows of the bundled validation split, and records the
 * table in Run.evaluation.sensitivity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '@distillery/artifacts';
import { decodeModel } from '@distillery/onnx';
import { selectLinearLayers } from '@distillery/techniques';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, stopWorker, waitForStatus, waitStarted, type Fixture, type WorkerProcess } from './run-fixtures';

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

describe('recipe.eval.sensitivity in a worker run', () => {
  it("stores one row per linear layer of the output model in the run's evaluation", async () => {
    const baseId = await addTinyDecoder(f, 41);
    const runId = await enqueueRun(f, baseId, {
      steps: [{ technique: 'prune.magnitude', params: { sparsity: 0.25 } }],
      eval: { maxTokens: 256, sensitivity: { bits: [2], sequences: 2, length: 32 } },
    });
    await waitForStatus(f, runId, ['succeeded', 'failed'], 120_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { include: { outputModel: true }, orderBy: { index: 'asc' } } } });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');

    const output = decodeModel(new Uint8Array(await readArtifact(f.store, run.steps.at(-1)!.outputModel!.sha256)));
    const layers = selectLinearLayers(output, {}).selected.map((l) => l.name);
    expect(layers.length).toBeGreaterThan(0);
    const rows = (run.evaluation as { sensitivity?: { layer: string; bits: number | null; kl: number; top1: number; pplDelta: number }[] }).sensitivity;
    expect(rows).toBeDefined();
    expect(rows!.map((r) => r.layer).sort()).toEqual([...layers].sort());
    for (const r of rows!) {
      expect(r.bits).toBe(2);
      expect(Number.isFinite(r.kl)).toBe(true);
      expect(r.kl).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(r.top1)).toBe(true);
    }
  });

  it('keeps a run whose output has no float linear layer left, recording an empty table and saying why', async () => {
    const baseId = await addTinyDecoder(f, 43);
    const runId = await enqueueRun(f, baseId, {
      steps: [{ technique: 'quantize.rtn', params: { bits: 8, lmHead: true } }],
      eval: { maxTokens: 256, sensitivity: { bits: [2], sequences: 2, length: 32 } },
    });
    await waitForStatus(f, runId, ['succeeded', 'failed'], 120_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.error).toBeNull();
    const evaluation = run.evaluation as { sensitivity?: unknown[]; notes?: string[] };
    expect(evaluation.sensitivity).toEqual([]);
    expect(evaluation.notes?.join(' ')).toMatch(/sensitivity skipped: the output model has no float linear layer/);
  });

  it('fails a run whose sensitivity settings are out of range, naming the field', async () => {
    const baseId = await addTinyDecoder(f, 42);
    const runId = await enqueueRun(f, baseId, { steps: [{ technique: 'quantize.rtn', params: {} }], eval: { sensitivity: { bits: [9] } } });
    await waitForStatus(f, runId, ['succeeded', 'failed'], 60_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/invalid recipe\.eval: sensitivity\.bits\.0: /);
  });
});
