/**
 * Seeds a fresh database for the `api` suite with COPY: teams (some opted in to public
 * leaderboards), one project each, a base model, and `runs` succeeded runs with one step
 * and six final metrics each, spread so one team (the benchmark user's) holds half.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PrismaClient } from '@distillery/db';
import { mulberry32 } from '@distillery/data';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface SeededTeam {
  teamId: string;
  projectId: string;
  modelId: string;
  runIds: string[];
}

const TECHNIQUES = ['quantize.rtn', 'quantize.gptq', 'prune.magnitude', 'lowrank.svd', 'share.kmeans'];

/** Rows as COPY text lines, in chunks, so the stream applies backpressure. */
export async function copyRows(url: string, sql: string, rows: Iterable<string>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    async function* chunks() {
      let buf: string[] = [];
      for (const r of rows) {
        buf.push(r);
        if (buf.length === 5000) {
          yield `${buf.join('\n')}\n`;
          buf = [];
        }
      }
      if (buf.length) yield `${buf.join('\n')}\n`;
    }
    await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
  } finally {
    await client.end();
  }
}

export async function seedApiData(prisma: PrismaClient, url: string, opts: { runs: number; teams: number; memberUserId: string; log: (m: string) => void }): Promise<SeededTeam[]> {
  const seeded: SeededTeam[] = [];
  for (let t = 0; t < opts.teams; t++) {
    const team = await prisma.team.create({ data: { name: `Team ${t}`, slug: `team-${t}-${randomUUID().slice(0, 8)}`, leaderboardPublic: t > 0 && t <= opts.teams / 2 } });
    if (t === 0) await prisma.membership.create({ data: { teamId: team.id, userId: opts.memberUserId, role: 'owner' } });
    const project = await prisma.project.create({ data: { teamId: team.id, name: 'bench' } });
    const model = await prisma.model.create({
      data: { teamId: team.id, projectId: project.id, name: 'base', format: 'onnx', sha256: 'a'.repeat(64), bytes: 10_000_000n, parameterCount: 5_000_000n, storagePath: 'none' },
    });
    seeded.push({ teamId: team.id, projectId: project.id, modelId: model.id, runIds: [] });
  }
  // Half the runs are team 0's, the rest spread over the others.
  for (let i = 0; i < opts.runs; i++) {
    const t = i % 2 === 0 || opts.teams === 1 ? 0 : 1 + ((i >> 1) % (opts.teams - 1));
    seeded[t]!.runIds.push(randomUUID());
  }
  const r = mulberry32(20261130);
  const started = Date.now();
  const runs: string[] = [];
  const steps: string[] = [];
  const metrics: string[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  let n = 0;
  for (const s of seeded) {
    for (const id of s.runIds) {
      const technique = TECHNIQUES[r.nextInt(TECHNIQUES.length)]!;
      const bits = 2 + r.nextInt(7);
      const recipe = JSON.stringify({ steps: [{ technique, params: { bits } }] });
      // One run in ten was scored with an older suite version.
      const version = n % 10 === 9 ? 2 : 1;
      const evaluation = JSON.stringify({ suite: { id: 'distillery-standard', version, hash: 'c'.repeat(64) } });
      const created = new Date(t0 + n * 1000).toISOString();
      runs.push(`${id}\t${s.projectId}\t${s.modelId}\t${recipe}\tsucceeded\t0\t1\t${evaluation}\t${created}\t${created}`);
      steps.push(`${randomUUID()}\t${id}\t0\t${technique}\t{"bits":${bits}}\tsucceeded`);
      const size = 1_000_000 + r.nextFloat() * 9_000_000;
      const ppl = 50 + 400 / (1 + size / 1e6) + r.nextFloat() * 10;
      for (const [name, value] of [
        ['size.bytes', size],
        ['base.size.bytes', 10_000_000],
        ['perplexity', ppl],
        ['base.perplexity', 49.57],
        ['divergence.top1', 0.5 + r.nextFloat() / 2],
        ['latency.decodeMs.p50', 1 + r.nextFloat() * 9],
      ] as const) {
        metrics.push(`${id}\t${name}\t${value}`);
      }
      n++;
    }
  }
  await copyRows(url, `COPY "Run" (id, "projectId", "baseModelId", recipe, status, seed, progress, evaluation, "createdAt", "finishedAt") FROM STDIN`, runs);
  await copyRows(url, `COPY "RunStep" (id, "runId", index, "techniqueId", params, status) FROM STDIN`, steps);
  await copyRows(url, `COPY "Metric" ("runId", name, value) FROM STDIN`, metrics);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('ANALYZE');
  // What the migration's backfill does for runs that succeeded before the final-figures table.
  await client.query(`SELECT refresh_run_final_metrics(ARRAY(SELECT id FROM "Run" WHERE status = 'succeeded'))`);
  // VACUUM as autovacuum would soon after such a load: it sets the visibility map, without
  // which index-only scans still visit the heap for every row.
  await client.query('VACUUM ANALYZE "RunFinalMetric"');
  await client.end();
  opts.log(`seeded ${opts.runs} runs, ${steps.length} steps, ${metrics.length} metrics in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return seeded;
}
