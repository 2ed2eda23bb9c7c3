/**
 * api: the GraphQL API over HTTP against a fresh database seeded with COPY (100,000 runs
 * with steps and metrics). Metric ingest through logMetrics (one client, 5,000-point
 * batches) is measured against a plain SQL COPY of the same number of points in the same
 * run (batches sent one at a time, and four in flight); run-list, compare (100 runs), leaderboard and trade-off (pareto over
 * ~10,000 runs) queries report p50/p95/p99 against
 * the p95 of the cheapest request (`{ apiVersion }`) over the same HTTP path. Target:
 * >= 20,000 points/s ingest, p95 < 100 ms for every query.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApi } from '@distillery/api';
import { LocalArtifactStore } from '@distillery/artifacts';
import { createTestDatabase } from '@distillery/db';
import { mulberry32 } from '@distillery/data';
import { percentile } from '@distillery/eval/percentiles';
import { pino } from 'pino';
import { copyRows, seedApiData } from '../api-seed';
import type { BenchRow, BenchSuite } from '../suite';

const TARGET_P95_MS = 100;
const TARGET_POINTS_PER_SEC = 20_000;
const BATCH = 5_000;
// The bench measures queries and ingest, not the request limiter, so rate limits are off.
const BENCH_ENV = { RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_ADDRESS: '0' };

interface Gql {
  <T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

function client(url: string, token?: string): Gql {
  return async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
}

async function timeRequests(count: number, request: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await request(i);
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await request(i);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return ms;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** `targeted: false` for queries the issue sets no latency target for (the trade-off over a whole project). */
function latencyRow(scenario: string, ms: number[], baselineP95: number, targeted = true): BenchRow {
  const p95 = percentile(ms, 95);
  return {
    scenario,
    requests: ms.length,
    p50Ms: round(percentile(ms, 50)),
    p95Ms: round(p95),
    p99Ms: round(percentile(ms, 99)),
    baseline: round(baselineP95),
    ratio: round(p95 / baselineP95),
    withinTarget: targeted ? p95 < TARGET_P95_MS : null,
  };
}

const suite: BenchSuite = {
  name: 'api',
  description: 'GraphQL over HTTP: metric ingest vs SQL COPY; run-list, compare, leaderboard, pareto p95 over 100,000 seeded runs',
  async run({ quick, log }) {
    const runs = 100_000;
    const points = quick ? 100_000 : 500_000;
    const requests = quick ? 60 : 300;
    const db = await createTestDatabase();
    const dir = await mkdtemp(path.join(tmpdir(), 'distillery-bench-api-'));
    const api = await createApi({ prisma: db.prisma, store: new LocalArtifactStore(dir), databaseUrl: db.url, port: 0, production: true, logger: pino({ level: 'silent' }), env: BENCH_ENV });
    const rows: BenchRow[] = [];
    try {
      const anon = client(api.graphqlUrl);
      const email = `bench-${Date.now()}@example.com`;
      await anon(`mutation($e: String!) { signUp(email: $e, password: "bench password 1") { message } }`, { e: email });
      const signIn = await anon<{ signIn: { token: string; user: { id: string } } }>(`mutation($e: String!) { signIn(email: $e, password: "bench password 1") { token user { id } } }`, { e: email });
      const gql = client(api.graphqlUrl, signIn.signIn.token);
      log(`seeding ${runs} runs with COPY`);
      const teams = await seedApiData(db.prisma, db.url, { runs, teams: 10, memberUserId: signIn.signIn.user.id, log });
      const mine = teams[0]!;

      // Ingest: one client sending 5,000-point batches, one at a time and with 4 in flight,
      // against COPY of as many points into the same table.
      const names = ['train/loss', 'train/lr', 'eval/loss', 'grad/norm'];
      const externalRun = async (name: string) =>
        (await gql<{ createExternalRun: { id: string } }>(`mutation($p: ID!, $m: ID!, $n: String!) { createExternalRun(projectId: $p, baseModelId: $m, name: $n) { id } }`, { p: mine.projectId, m: mine.modelId, n: name })).createExternalRun.id;
      const ingest = async (inFlight: number): Promise<number> => {
        const runId = await externalRun(`ingest x${inFlight}`);
        const starts = Array.from({ length: Math.ceil(points / BATCH) }, (_, b) => b * BATCH);
        let accepted = 0;
        const t = process.hrtime.bigint();
        const lane = async () => {
          for (let start = starts.shift(); start !== undefined; start = starts.shift()) {
            const batch = Array.from({ length: Math.min(BATCH, points - start) }, (_, k) => {
              const i = start + k;
              return { key: `p${i}`, name: names[i % 4], step: i >> 2, value: 1 / (1 + i) };
            });
            const r = await gql<{ logMetrics: { accepted: number } }>(`mutation($r: ID!, $pts: [MetricPointInput!]!) { logMetrics(runId: $r, points: $pts) { accepted } }`, { r: runId, pts: batch });
            accepted += r.logMetrics.accepted;
          }
        };
        await Promise.all(Array.from({ length: inFlight }, lane));
        const seconds = Number(process.hrtime.bigint() - t) / 1e9;
        if (accepted !== points) throw new Error(`logMetrics stored ${accepted} of ${points} points`);
        return points / seconds;
      };
      log(`ingesting ${points} points through logMetrics, twice`);
      const sequential = await ingest(1);
      const pipelined = await ingest(4);
      const copyRunId = await externalRun('copy');
      function* copyLines() {
        for (let i = 0; i < points; i++) yield `${copyRunId}\tp${i}\t${names[i % 4]}\t${i >> 2}\t${1 / (1 + i)}`;
      }
      const t = process.hrtime.bigint();
      await copyRows(db.url, `COPY "Metric" ("runId", key, name, step, value) FROM STDIN`, copyLines());
      const copy = points / (Number(process.hrtime.bigint() - t) / 1e9);
      for (const [scenario, ours] of [['ingest logMetrics, 1 request at a time', sequential], ['ingest logMetrics, 4 requests in flight', pipelined]] as const) {
        rows.push({ scenario, points, pointsPerSec: Math.round(ours), baseline: Math.round(copy), ratio: round(ours / copy, 3), withinTarget: ours >= TARGET_POINTS_PER_SEC });
      }
      log(`ingest ${Math.round(sequential)} / ${Math.round(pipelined)} points/s, COPY ${Math.round(copy)} points/s`);

      const floor = await timeRequests(requests, () => gql(`{ apiVersion }`));
      const floorP95 = percentile(floor, 95);
      rows.push(latencyRow('apiVersion (floor)', floor, floorP95));

      let cursor: string | null = null;
      const list = await timeRequests(requests, async () => {
        const r = await gql<{ runs: { pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(
          `query($p: ID!, $after: String) { runs(projectId: $p, first: 50, after: $after) {
            edges { node { id status createdAt baseModel { name } steps { techniqueId params } metrics { name value unit } } }
            pageInfo { endCursor hasNextPage } } }`,
          { p: mine.projectId, after: cursor },
        );
        cursor = r.runs.pageInfo.hasNextPage ? r.runs.pageInfo.endCursor : null;
      });
      rows.push(latencyRow('run-list (50 runs, nested steps+metrics, paging deeper)', list, floorP95));

      const pick = mulberry32(7);
      const compare = await timeRequests(requests, () => {
        const ids = Array.from({ length: 100 }, () => mine.runIds[pick.nextInt(mine.runIds.length)]!);
        return gql(`query($ids: [ID!]!) { compareRuns(ids: $ids) { metrics { name cells { value delta better } } recipeDiff { path values } } }`, { ids: [...new Set(ids)] });
      });
      rows.push(latencyRow('compare (100 runs)', compare, floorP95));

      const board = (filter: Record<string, unknown> | null, scope: 'TEAM' | 'PUBLIC') =>
        timeRequests(requests, () =>
          gql(`query($t: ID, $s: LeaderboardScope!, $f: LeaderboardFilter) { leaderboard(metric: "perplexity", scope: $s, teamId: $t, suiteVersion: 1, filter: $f, first: 20) { entries { rank runId value teamName techniques sizeBytes } } }`, {
            t: scope === 'TEAM' ? mine.teamId : null,
            s: scope,
            f: filter,
          }),
        );
      rows.push(latencyRow('leaderboard team', await board(null, 'TEAM'), floorP95));
      rows.push(latencyRow('leaderboard team, size <= 3 MB, family prune', await board({ maxSizeBytes: 3_000_000, techniqueFamily: 'prune' }, 'TEAM'), floorP95));
      rows.push(latencyRow('leaderboard public', await board({ maxDecodeMsP50: 5 }, 'PUBLIC'), floorP95));

      // The runs page's trade-off over one technique family (a fifth of the project, ~10,000
      // runs): what the chart asks now (each point's base model id and recipe from one query), the
      // same read through each point's run, and the older selection (dominator lists, each run's base model read).
      let paretoRuns = 0;
      const paretoRequests = quick ? 10 : 40;
      const tradeoff = (point: string, dominated: string) =>
        timeRequests(paretoRequests, async () => {
          const r = await gql<{ pareto: { frontier: unknown[]; dominated: unknown[] } }>(
            `query($p: ID!, $f: RunFilter) { pareto(projectId: $p, x: "size.bytes", y: "perplexity", filter: $f) {
              frontier { ${point} } dominated { ${point} ${dominated} } missing } }`,
            { p: mine.projectId, f: { family: 'prune' } },
          );
          paretoRuns = r.pareto.frontier.length + r.pareto.dominated.length;
        });
      const chart = await tradeoff('x y runId baseModelId recipe', 'dominatedByCount');
      if (paretoRuns < 5_000) throw new Error(`pareto plotted only ${paretoRuns} runs; the family filter should select about a fifth of the project`);
      rows.push(latencyRow(`pareto ${paretoRuns} runs, the chart's selection (runId, baseModelId, recipe per point; dominatedByCount)`, chart, floorP95, false));
      rows.push(latencyRow(`pareto ${paretoRuns} runs, each point's run read (run { id recipe baseModelId })`, await tradeoff('x y run { id recipe baseModelId }', 'dominatedByCount'), floorP95, false));
      rows.push(latencyRow(`pareto ${paretoRuns} runs, the previous selection (dominatedBy lists, baseModel)`, await tradeoff('x y run { id recipe baseModel { id name } }', 'dominatedBy'), floorP95, false));
    } finally {
      await api.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default suite;
