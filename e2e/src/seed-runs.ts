/**
 * Finished runs written straight into the database, for pages and benchmarks that need
 * many runs without waiting for a worker: each a quantization of the given base model at
 * some bit width and group size, with figures that trade size against perplexity, a loss
 * series on every tenth run and generated samples on the first few. Deterministic in `seed`.
 * Their final figures (what leaderboards and run lists rank by) are refreshed as the run
 * lifecycle does when a run succeeds.
 */
import { randomUUID } from 'node:crypto';
import { refreshFinalMetrics, type PrismaClient } from '@distillery/db';
import { mulberry32 } from '@distillery/data';

export interface SeedRunsOptions {
  projectId: string;
  baseModelId: string;
  count: number;
  seed?: number;
  /** createdAt of the newest run; older runs follow one second apart. */
  newest?: Date;
  /** The evaluation suite the runs say they were scored with (leaderboards rank only such runs). */
  suite?: { id: string; version: number };
}


const CHUNK = 5000;

async function inChunks<T>(rows: T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await write(rows.slice(i, i + CHUNK));
}

export async function seedFinishedRuns(prisma: PrismaClient, opts: SeedRunsOptions): Promise<string[]> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`count must be a positive integer, got ${opts.count}`);
  const generator = mulberry32(opts.seed ?? 1);
  const rand = () => generator.nextFloat();
  const newest = (opts.newest ?? new Date()).getTime();
  const baseBytes = 10_600_000;
  const basePpl = 49.57;
  const baseParams = 5_261_568;
  const suite = opts.suite ? { suite: opts.suite } : {};
  const runs: { id: string; projectId: string; baseModelId: string; recipe: object; status: 'succeeded'; seed: number; progress: number; attempts: number; createdAt: Date; startedAt: Date; finishedAt: Date; evaluation?: object }[] = [];
  const steps: { id: string; runId: string; index: number; techniqueId: string; params: object; status: 'succeeded'; startedAt: Date; finishedAt: Date }[] = [];
  const metrics: { runId: string; runStepId: string | null; name: string; value: number; step: number | null }[] = [];
  for (let i = 0; i < opts.count; i++) {
    const id = randomUUID();
    const stepId = randomUUID();
    const bits = [2, 3, 4, 8][Math.floor(rand() * 4)]!;
    const groupSize = [32, 64, 128][Math.floor(rand() * 3)]!;
    const params = { bits, groupSize, symmetric: rand() < 0.5 };
    const createdAt = new Date(newest - i * 1000);
    const finishedAt = new Date(createdAt.getTime() + 30_000);
    const bytes = baseBytes * (bits / 16 + 2 / groupSize) * (0.95 + 0.1 * rand());
    const ppl = basePpl * (1 + (0.8 / bits ** 2) * (1 + rand()) + 0.01 * rand());
    runs.push({
      id,
      projectId: opts.projectId,
      baseModelId: opts.baseModelId,
      recipe: { steps: [{ technique: 'quantize.rtn', params }] },
      status: 'succeeded',
      seed: i,
      progress: 1,
      attempts: 1,
      createdAt,
      startedAt: createdAt,
      finishedAt,
      ...(i < 3
        ? { evaluation: { ...suite, samples: [{ prompt: 'Call me', output: { greedy: ` Ishmael${'.'.repeat(bits)}`, sampled: ' a whale' }, base: { greedy: ' Ishmael.', sampled: ' the sea' } }], notes: [] } }
        : opts.suite
          ? { evaluation: { ...suite, samples: [], notes: [] } }
          : {}),
    });
    steps.push({ id: stepId, runId: id, index: 0, techniqueId: 'quantize.rtn', params, status: 'succeeded', startedAt: createdAt, finishedAt });
    const figures: Record<string, number> = {
      'size.bytes': bytes,
      'base.size.bytes': baseBytes,
      'ratio.size': bytes / baseBytes,
      perplexity: ppl,
      'base.perplexity': basePpl,
      'ratio.perplexity': ppl / basePpl,
      parameters: baseParams,
      'base.parameters': baseParams,
      'divergence.kl': (0.5 / bits ** 2) * (1 + rand()),
      'divergence.top1': 1 - (0.3 / bits) * (0.5 + rand()),
      'latency.decodeMs.p50': 2 + 2 * rand(),
      'base.latency.decodeMs.p50': 3,
    };
    for (const [name, value] of Object.entries(figures)) metrics.push({ runId: id, runStepId: null, name, value, step: null });
    if (i % 10 === 0) {
      for (let s = 1; s <= 20; s++) metrics.push({ runId: id, runStepId: stepId, name: 'steps.0.train.loss', value: 6 * Math.exp(-s / 8) + 2 + 0.1 * rand(), step: s });
    }
  }
  await inChunks(runs, (chunk) => prisma.run.createMany({ data: chunk }));
  await inChunks(steps, (chunk) => prisma.runStep.createMany({ data: chunk }));
  // Metrics are most of the rows: one INSERT of unnested arrays per chunk is several times faster than createMany.
  await inChunks(metrics, (chunk) =>
    prisma.$executeRaw`
      INSERT INTO "Metric" ("runId", "runStepId", name, value, step)
      SELECT * FROM unnest(${chunk.map((m) => m.runId)}::uuid[], ${chunk.map((m) => m.runStepId)}::uuid[], ${chunk.map((m) => m.name)}::text[],
                           ${chunk.map((m) => m.value)}::float8[], ${chunk.map((m) => m.step)}::int[])`,
  );
  const ids = runs.map((r) => r.id);
  // Fresh statistics after the bulk insert: without them the refresh's plan is several times slower.
  await prisma.$executeRaw`ANALYZE "Run", "RunStep", "Metric"`;
  await inChunks(ids, (chunk) => refreshFinalMetrics(prisma, chunk));
  return ids;
}
