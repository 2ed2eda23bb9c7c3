/**
 * Real worker processes (`node --import tsx workers/src/main.ts`) on a real Postgres, with
 * real ONNX models: the int8 recipe end to end, two workers sharing one queue, permanent
 * failures, cancellation, graceful shutdown and recovery from a SIGKILLed worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { readArtifact } from '@distillery/artifacts';
import { liveBase, modelPerplexity, openScorer, perplexity } from '@distillery/eval';
import { decodeModel } from '@distillery/onnx';
import { findRecordedBaseEvaluation, type RunEvaluationRecord } from '../src/base-evaluation';
import { evaluationTokens } from '../src/evaluation-tokens';
import {
  addModel,
  addTinyDecoder,
  createFixture,
  enqueueRun,
  jobsOf,
  spawnWorker,
  stopWorker,
  waitFor,
  waitForStatus,
  waitStarted,
  type Fixture,
  type WorkerProcess,
} from './run-fixtures';

const INT8 = { technique: 'quantize.rtn-int8', params: {} };
// Scoring one token per window makes evaluation slow enough (seconds) to interrupt.
const SLOW_EVAL = { maxTokens: 12_000, stride: 1, batch: 1 };

let f: Fixture;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  f = await createFixture();
  workers = [spawnWorker(f), spawnWorker(f)];
  await Promise.all(workers.map((w) => waitStarted(w)));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w)));
  await f?.close();
});

async function metricsOf(runId: string): Promise<Map<string, number>> {
  const rows = await f.prisma.metric.findMany({ where: { runId, step: null } });
  const names = rows.map((r) => r.name);
  expect(new Set(names).size, 'single-value metric names are unique per run').toBe(names.length);
  return new Map(rows.map((r) => [r.name, r.value]));
}

function holderOf(runId: string): WorkerProcess | undefined {
  return workers.find((w) => w.output().includes(`"runId":"${runId}","attempt"`));
}

describe('worker processes', () => {
  it('runs the int8 recipe: output model stored and loadable, lineage, metrics with base comparison', async () => {
    const baseId = await addTinyDecoder(f, 1);
    const runId = await enqueueRun(f, baseId, { steps: [INT8] });
    await waitForStatus(f, runId, ['succeeded', 'failed'], 60_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: true, outputModels: true, artifacts: true } });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(1);
    expect(run.progress).toBe(1);
    expect(run.finishedAt).not.toBeNull();
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded']);
    expect(run.outputModels).toHaveLength(1);
    const out = run.outputModels[0]!;
    expect(out.parentId).toBe(baseId);
    expect(run.steps[0]!.outputModelId).toBe(out.id);
    expect(run.artifacts.map((a) => a.kind).sort()).toEqual(['model', 'report']);

    // The stored bytes are what the row says, and stock ORT loads them.
    const bytes = await readArtifact(f.store, out.sha256);
    expect(bytes.byteLength).toBe(Number(out.bytes));
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    expect(session.outputNames).toContain('logits');
    await session.release();
    const model = decodeModel(bytes);
    expect(model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').length).toBeGreaterThan(0);

    const m = await metricsOf(runId);
    const base = await f.prisma.model.findUniqueOrThrow({ where: { id: baseId } });
    expect(m.get('size.bytes')).toBe(Number(out.bytes));
    expect(m.get('base.size.bytes')).toBe(Number(base.bytes));
    expect(m.get('parameters')).toBe(Number(out.parameterCount));
    expect(m.get('ratio.size')).toBeCloseTo(Number(out.bytes) / Number(base.bytes), 12);
    expect(m.get('ratio.size')!).toBeLessThan(0.6);
    expect(m.get('steps.0.report.layersQuantized')).toBe(2 * 7 + 1);
    // The worker scored the output model on the test split: recompute it here independently of the thread plumbing.
    const tokens = evaluationTokens(f.tokenizer, 4096);
    const expected = await modelPerplexity(model, tokens, { window: 64 });
    expect(m.get('eval.tokens')).toBe(expected.tokens);
    expect(m.get('perplexity')!).toBeCloseTo(expected.perplexity, 6);
    expect(m.get('delta.perplexity')!).toBeCloseTo(m.get('perplexity')! - m.get('base.perplexity')!, 9);
    // int8 weights barely move a model's perplexity; a wrong model or stream would.
    expect(Math.abs(m.get('ratio.perplexity')! - 1)).toBeLessThan(0.05);

    // Bits per byte over the UTF-8 bytes of the scored tokens.
    const bytesOfScored = m.get('eval.bytes')!;
    expect(m.get('bitsPerByte')!).toBeCloseTo((expected.nll * expected.tokens) / Math.LN2 / bytesOfScored, 6);
    expect(bytesOfScored).toBeGreaterThan(expected.tokens);
    // Divergence from the base, recomputed here with both models run side by side (no cache).
    const baseModel = decodeModel(await readArtifact(f.store, base.sha256));
    const [b, o] = [await openScorer(baseModel), await openScorer(model, { withBase: true })];
    try {
      const live = await perplexity(o, tokens, { window: 64, base: liveBase(b) });
      expect(m.get('divergence.kl')!).toBeCloseTo(live.divergence!.kl, 6);
      expect(m.get('divergence.top1')).toBe(live.divergence!.top1);
      expect(m.get('divergence.tokens')).toBe(expected.tokens);
    } finally {
      await b.release();
      await o.release();
    }
    expect(m.get('divergence.kl')!).toBeGreaterThan(0);
    expect(m.get('divergence.top1')!).toBeGreaterThan(0.8);
    expect(m.get('divergence.top5')!).toBeGreaterThanOrEqual(m.get('divergence.top1')!);
    // Tasks, latency, memory and the weight census, for the output and the base.
    for (const p of ['', 'base.']) {
      for (const n of ['task.cloze.accuracy', 'task.choice.accuracy', 'task.choice.accuracyNorm', 'latency.prefillTokensPerSecond', 'latency.decodeMs.p50', 'latency.decodeMs.p95', 'memory.peakRssDelta', 'weights.parameters', 'weights.bitsPerWeight']) {
        expect(Number.isFinite(m.get(p + n)), p + n).toBe(true);
      }
      expect(m.get(`${p}latency.decodeMs.p95`)!).toBeGreaterThanOrEqual(m.get(`${p}latency.decodeMs.p50`)!);
    }
    // 2 bundled tasks x 40 items, less those whose choices alone overflow the tiny model's 64-token window.
    expect(m.get('task.choice.items')!).toBeGreaterThan(10);
    expect(m.get('task.choice.items')!).toBeLessThanOrEqual(80);
    expect(m.get('weights.parameters')).toBe(m.get('base.weights.parameters'));
    expect(m.get('weights.scaleBytes')!).toBeGreaterThan(0);
    // Linear layers become int8 with float scales; embeddings and norms stay float32.
    expect(m.get('base.weights.bitsPerWeight')).toBe(32);
    expect(m.get('weights.bitsPerWeight')!).toBeGreaterThan(8);
    expect(m.get('weights.bitsPerWeight')!).toBeLessThan(24);
    expect(m.get('eval.ortThreads')).toBe(2);
    // The suite and the samples, base and output side by side, are stored with the run.
    const record = run.evaluation as unknown as RunEvaluationRecord;
    expect(record.suite).toMatchObject({ id: 'distillery-standard', version: 1, ortVersion: '1.30.0' });
    expect(record.suite.data.tasks).toHaveProperty('next-sentence');
    expect(record.samples).toHaveLength(3);
    for (const s of record.samples) {
      expect(s.output.greedy.length).toBeGreaterThan(0);
      expect(s.base!.greedy.length).toBeGreaterThan(0);
    }
  });

  it('runs a training step on the train split and records its loss curve as a metric series', async () => {
    const baseId = await addTinyDecoder(f, 4);
    const steps = 30;
    const runId = await enqueueRun(f, baseId, { steps: [{ technique: 'finetune.recover', params: { steps, batchSize: 4, seqLen: 32, warmup: 2, lr: 1e-2 } }] });
    // While it trains, the step shows as running with its start time.
    await waitFor(async () => (await f.prisma.runStep.findFirst({ where: { runId, status: 'running', startedAt: { not: null } } })) !== null, 60_000, 'step running');
    await waitForStatus(f, runId, ['succeeded', 'failed'], 90_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: true } });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const series = await f.prisma.metric.findMany({ where: { runId, name: 'steps.0.train.loss' }, orderBy: { step: 'asc' } });
    expect(series.map((m) => m.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect(series.every((m) => m.runStepId === run.steps[0]!.id && Number.isFinite(m.value) && m.value > 0)).toBe(true);
    // Cross-entropy of a random tiny decoder starts near ln(vocab) and training lowers it.
    const mean = (xs: { value: number }[]) => xs.reduce((a, m) => a + m.value, 0) / xs.length;
    expect(mean(series.slice(-5))).toBeLessThan(mean(series.slice(0, 5)) - 0.3);
    // Held-out evaluation points on the validation split, also a series.
    const heldOut = await f.prisma.metric.findMany({ where: { runId, name: 'steps.0.train.heldout.perplexity' }, orderBy: { step: 'asc' } });
    expect(heldOut.map((m) => m.step)).toEqual([8, 16, 24, 30]);
    expect(heldOut[heldOut.length - 1]!.value).toBeLessThan(heldOut[0]!.value);
    await metricsOf(runId);
  });

  it('shares a queue of runs between two workers; no run executes twice', async () => {
    const bases = await Promise.all([2, 3].map((seed) => addTinyDecoder(f, seed)));
    const runIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      // Two-step runs quantize the LM head in their second step (a step that changes nothing would fail).
      runIds.push(await enqueueRun(f, bases[i % 2]!, { steps: i % 2 ? [{ technique: 'quantize.rtn-int8', params: { skip: ['lm_head'] } }, INT8] : [INT8] }));
    }
    for (const id of runIds) await waitForStatus(f, id, ['succeeded', 'failed'], 90_000);
    for (const [i, id] of runIds.entries()) {
      const run = await f.prisma.run.findUniqueOrThrow({ where: { id }, include: { steps: true, outputModels: true } });
      expect(run.status).toBe('succeeded');
      expect(run.attempts).toBe(1);
      expect(run.outputModels).toHaveLength(run.steps.length);
      expect(run.steps.length).toBe(i % 2 ? 2 : 1);
      await metricsOf(id);
      // Exactly one "run started" line across both workers' logs.
      const starts = workers.map((w) => w.output().split(`"runId":"${id}","attempt"`).length - 1);
      expect(starts.reduce((a, b) => a + b, 0)).toBe(1);
      expect(await jobsOf(f, id)).toEqual([]);
    }
  });

  it('fails a bad recipe parameter and a malformed base model at once, without retries', async () => {
    const good = await addTinyDecoder(f, 4);
    const badParams = await enqueueRun(f, good, { steps: [{ technique: 'quantize.rtn-int8', params: { minSize: -5 } }] });
    const garbage = await addModel(f, 'garbage', new TextEncoder().encode('this is not an onnx model at all'), 0);
    const badModel = await enqueueRun(f, garbage, { steps: [INT8] });
    for (const id of [badParams, badModel]) await waitForStatus(f, id, ['failed', 'succeeded'], 60_000);
    const a = await f.prisma.run.findUniqueOrThrow({ where: { id: badParams }, include: { steps: true } });
    const b = await f.prisma.run.findUniqueOrThrow({ where: { id: badModel }, include: { steps: true } });
    expect(a.status).toBe('failed');
    expect(a.error).toContain('steps[0].params.minSize');
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/quantize\.rtn-int8: .*(ONNX|protobuf|graph)/i);
    for (const r of [a, b]) {
      expect(r.attempts).toBe(1);
      expect(r.finishedAt).not.toBeNull();
      expect(r.steps.map((s) => s.status)).toEqual(['failed']);
      expect(await f.prisma.metric.count({ where: { runId: r.id } })).toBe(0);
      expect(await f.prisma.model.count({ where: { producedByRunId: r.id } })).toBe(0);
      expect(await jobsOf(f, r.id)).toEqual([]); // completed, not waiting for a retry
    }
  });

  it('stops a canceled run at a safe point and keeps nothing of it (cancel flag or status set by the API)', async () => {
    const base = await addTinyDecoder(f, 5);
    const flagged = await enqueueRun(f, base, { steps: [INT8], eval: SLOW_EVAL });
    const statusSet = await enqueueRun(f, base, { steps: [INT8], eval: { ...SLOW_EVAL, maxTokens: 11_000 } });
    await waitFor(async () => {
      const rs = await f.prisma.run.findMany({ where: { id: { in: [flagged, statusSet] } } });
      return rs.every((r) => r.status === 'running' && r.progress > 0);
    }, 60_000, 'both runs to make progress');
    await f.prisma.run.update({ where: { id: flagged }, data: { cancelRequested: true } });
    await f.prisma.run.update({ where: { id: statusSet }, data: { status: 'canceled', finishedAt: new Date() } });
    for (const runId of [flagged, statusSet]) {
      await waitFor(async () => (await jobsOf(f, runId)).length === 0, 30_000, 'the job to complete');
      const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: true } });
      expect(run.status).toBe('canceled');
      expect(run.steps.map((s) => s.status)).toEqual(['canceled']);
      expect(await f.prisma.metric.count({ where: { runId } })).toBe(0);
      expect(await f.prisma.model.count({ where: { producedByRunId: runId } })).toBe(0);
      expect(await f.prisma.artifact.count({ where: { runId } })).toBe(0);
    }
  });

  it('evaluates a model without a tokenizer for size only and says perplexity was skipped', async () => {
    const base = await addTinyDecoder(f, 8, false);
    const runId = await enqueueRun(f, base, { steps: [INT8] });
    await waitForStatus(f, runId, ['succeeded', 'failed'], 60_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe('succeeded');
    expect(run.progressMessage).toMatch(/perplexity skipped: the model has no tokenizer/);
    const m = await metricsOf(runId);
    expect(m.get('eval.perplexitySkipped')).toBe(1);
    expect(m.has('perplexity') || m.has('base.perplexity')).toBe(false);
    expect(m.get('ratio.size')!).toBeLessThan(0.6);
  });

  it('finds the base evaluation recorded by an earlier run for the same bytes and suite only', async () => {
    const base = await f.prisma.model.findFirstOrThrow({ where: { name: 'tiny-1' } });
    const run = await f.prisma.run.findFirstOrThrow({ where: { baseModelId: base.id, status: 'succeeded' } });
    const suiteHash = (run.evaluation as unknown as RunEvaluationRecord).suite.hash;
    expect(suiteHash).toMatch(/^[0-9a-f]{64}$/);
    const key = { modelSha256: base.sha256, tokenizerSha256: f.tokenizerSha, suiteHash };
    const found = await findRecordedBaseEvaluation(f.prisma, key);
    const m = await metricsOf(run.id);
    expect(found?.figures.perplexity).toBe(m.get('base.perplexity'));
    expect(found?.figures.bitsPerByte).toBe(m.get('base.bitsPerByte'));
    expect(found?.figures.sizeBytes).toBe(Number(base.bytes));
    // Latency is measured again beside every output model, never taken from the record.
    expect(found?.figures.decodeMsP50).toBeUndefined();
    expect(found?.tasks.map((t) => t.name)).toEqual(['next-sentence', 'last-word']);
    expect(await findRecordedBaseEvaluation(f.prisma, { ...key, suiteHash: 'f'.repeat(64) })).toBeNull();
    expect(await findRecordedBaseEvaluation(f.prisma, { ...key, tokenizerSha256: null })).toBeNull();
  });

  it('on SIGTERM lets the running thread task finish, requeues the run uncounted and exits cleanly', async () => {
    const base = await addTinyDecoder(f, 6);
    const runId = await enqueueRun(f, base, { steps: [INT8], eval: SLOW_EVAL });
    await waitFor(async () => {
      const r = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status === 'running' && r.progress > 0 && holderOf(runId) !== undefined;
    }, 60_000, 'the run to make progress');
    const holder = holderOf(runId)!;
    holder.child.kill('SIGTERM');
    const exit = await holder.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(holder.output()).toContain('"worker stopped"');
    workers = workers.filter((w) => w !== holder);
    const replacement = spawnWorker(f);
    workers.push(replacement);
    await waitForStatus(f, runId, ['succeeded', 'failed'], 90_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { outputModels: true } });
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(1); // the interrupted attempt is not counted
    expect(run.outputModels).toHaveLength(1);
    await metricsOf(runId);
    expect(await jobsOf(f, runId)).toEqual([]); // the retired job and its replacement are both gone
    await waitStarted(replacement);
  });

  it('recovers a run whose worker was SIGKILLed mid-run: retried elsewhere, never left running, never partial', async () => {
    const base = await addTinyDecoder(f, 7);
    const runId = await enqueueRun(f, base, { steps: [INT8], eval: SLOW_EVAL });
    await waitFor(async () => {
      const r = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status === 'running' && r.progress > 0 && holderOf(runId) !== undefined;
    }, 60_000, 'the run to make progress');
    const victim = holderOf(runId)!;
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    workers = workers.filter((w) => w !== victim);
    await waitForStatus(f, runId, ['succeeded', 'failed'], 120_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { outputModels: true, steps: true } });
    expect(run.status).toBe('succeeded');
    expect(run.attempts).toBe(2);
    expect(run.outputModels).toHaveLength(1);
    expect(run.steps[0]!.outputModelId).toBe(run.outputModels[0]!.id);
    const m = await metricsOf(runId);
    expect(m.has('perplexity') && m.has('base.perplexity')).toBe(true);
    expect(await jobsOf(f, runId)).toEqual([]);
    expect(workers.some((w) => w.output().includes(`stale run requeued`))).toBe(true);
  });
});
