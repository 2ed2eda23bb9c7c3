/**
 * Leaderboards over the final-figures table, against a brute-force ranking: runs recorded
 * through the run lifecycle (so the table is kept by it, not by the test) across three
 * teams, two suite versions, several technique families, with live points and superseded
 * final values that must not count, and failed runs that must not appear. Every board
 * (scope, metric, suite version, budgets, family, page size) equals the ranking computed
 * here from the recorded figures.
 */
import { createRun, recordMetricPoints, transitionRun, type PrismaClient, type RunStatus } from '@distillery/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, type Harness } from './harness';

interface Seeded {
  runId: string;
  teamId: string;
  status: RunStatus;
  suiteVersion: number;
  techniques: string[];
  /** The latest final value of each metric. */
  finals: Record<string, number>;
}

const TECHNIQUES = ['quantize.rtn-int8', 'quantize.gptq', 'prune.magnitude', 'lowrank.svd', 'share.kmeans'];
const METRICS = ['perplexity', 'size.bytes', 'latency.decodeMs.p50', 'divergence.top1'];

let h: Harness;
let owner: { token: string };
let rival: { token: string };
let teams: { own: string; open: string; closed: string };
const seeded: Seeded[] = [];

/** A small deterministic generator, so a failure reproduces. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function recordRun(prisma: PrismaClient, team: { teamId: string; projectId: string; modelId: string }, next: () => number, index: number): Promise<void> {
  const techniques = Array.from({ length: 1 + Math.floor(next() * 2) }, () => TECHNIQUES[Math.floor(next() * TECHNIQUES.length)]!);
  const suiteVersion = next() < 0.25 ? 2 : 1;
  const status: RunStatus = index % 9 === 4 ? 'failed' : 'succeeded';
  // Coarse values, so ties occur and the run id must break them.
  const finals: Record<string, number> = {};
  for (const name of METRICS) if (!(name === 'latency.decodeMs.p50' && index % 7 === 3)) finals[name] = Math.round(next() * 12) / 4 + 1;
  await prisma.$transaction(async (tx) => {
    const run = await createRun(tx, {
      data: { projectId: team.projectId, baseModelId: team.modelId, recipe: { steps: techniques.map((technique) => ({ technique })) }, seed: index },
      steps: techniques.map((techniqueId) => ({ techniqueId, params: {} })),
    });
    await transitionRun(tx, run.id, 'running', { status: ['queued'] });
    // A live training point would rank first if it counted; an earlier final value is superseded.
    await recordMetricPoints(tx, run, [{ name: 'perplexity', value: -1, step: 10 }, ...Object.keys(finals).map((name) => ({ name, value: -2 }))]);
    await recordMetricPoints(tx, run, Object.entries(finals).map(([name, value]) => ({ name, value })));
    await transitionRun(tx, run.id, status, { status: ['running'] }, { finishedAt: new Date(), evaluation: { suite: { id: 'distillery-standard', version: suiteVersion } } });
    seeded.push({ runId: run.id, teamId: team.teamId, status, suiteVersion, techniques, finals });
  });
}

beforeAll(async () => {
  h = await startHarness({ importWorker: false });
  owner = await signUp(h, 'board-owner');
  rival = await signUp(h, 'board-rival');
  const create = async (token: string, name: string) => ok(await h.gql<{ createTeam: { id: string } }>(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: name }, token)).createTeam.id;
  teams = { own: await create(owner.token, 'Own'), open: await create(rival.token, 'Open'), closed: await create(rival.token, 'Closed') };
  ok(await h.gql(`mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: true) { leaderboardPublic } }`, { t: teams.open }, rival.token));
  const prisma = h.db.prisma;
  const next = generator(20261130);
  let index = 0;
  for (const teamId of [teams.own, teams.open, teams.closed]) {
    const project = await prisma.project.create({ data: { teamId, name: 'boards' } });
    const model = await prisma.model.create({ data: { teamId, projectId: project.id, name: 'base', format: 'onnx', sha256: 'a'.repeat(64), bytes: 1000n, parameterCount: 100n, storagePath: 'none' } });
    for (let i = 0; i < 40; i++) await recordRun(prisma, { teamId, projectId: project.id, modelId: model.id }, next, index++);
  }
});
afterAll(async () => {
  await h?.close();
});

interface Board {
  metric: string;
  teamId: string | null;
  version: number;
  first: number;
  filter: { maxSizeBytes?: number; maxDecodeMsP50?: number; techniqueFamily?: string };
}

function bruteForce(b: Board, lowerIsBetter: boolean): { rank: number; runId: string; value: number }[] {
  const eligible = seeded.filter((r) => {
    if (r.status !== 'succeeded' || r.suiteVersion !== b.version || r.finals[b.metric] === undefined) return false;
    if (b.teamId !== null ? r.teamId !== b.teamId : r.teamId !== teams.open) return false;
    if (b.filter.maxSizeBytes !== undefined && !(r.finals['size.bytes']! <= b.filter.maxSizeBytes)) return false;
    if (b.filter.maxDecodeMsP50 !== undefined && !(r.finals['latency.decodeMs.p50'] !== undefined && r.finals['latency.decodeMs.p50'] <= b.filter.maxDecodeMsP50)) return false;
    if (b.filter.techniqueFamily !== undefined && !r.techniques.some((t) => t.split('.')[0] === b.filter.techniqueFamily)) return false;
    return true;
  });
  eligible.sort((x, y) => {
    const d = lowerIsBetter ? x.finals[b.metric]! - y.finals[b.metric]! : y.finals[b.metric]! - x.finals[b.metric]!;
    return d !== 0 ? d : x.runId < y.runId ? -1 : x.runId > y.runId ? 1 : 0;
  });
  return eligible.slice(0, b.first).map((r, i) => ({ rank: i + 1, runId: r.runId, value: r.finals[b.metric]! }));
}

const QUERY = `query($m: String!, $s: LeaderboardScope!, $t: ID, $v: Int!, $f: LeaderboardFilter, $n: Int) {
  leaderboard(metric: $m, scope: $s, teamId: $t, suiteVersion: $v, filter: $f, first: $n) { entries { rank runId value } } }`;

describe('leaderboard ranks', () => {
  it('equal a brute-force ranking of the recorded final figures, for every scope, budget and family', async () => {
    const filters: Board['filter'][] = [{}, { maxSizeBytes: 2 }, { maxDecodeMsP50: 1.5 }, { techniqueFamily: 'prune' }, { maxSizeBytes: 3, maxDecodeMsP50: 3, techniqueFamily: 'quantize' }];
    let compared = 0;
    let nonEmpty = 0;
    for (const [metric, lowerIsBetter] of [['perplexity', true], ['divergence.top1', false]] as const) {
      for (const teamId of [teams.own, null]) {
        for (const version of [1, 2]) {
          for (const filter of filters) {
            for (const first of [3, 100]) {
              const board: Board = { metric, teamId, version, first, filter };
              const got = ok(await h.gql<{ leaderboard: { entries: { rank: number; runId: string; value: number }[] } }>(QUERY, { m: metric, s: teamId ? 'TEAM' : 'PUBLIC', t: teamId, v: version, f: filter, n: first }, owner.token)).leaderboard.entries;
              expect(got, JSON.stringify(board)).toEqual(bruteForce(board, lowerIsBetter));
              compared++;
              if (got.length > 0) nonEmpty++;
            }
          }
        }
      }
    }
    expect(compared).toBe(2 * 2 * 2 * 5 * 2);
    // The boards are not trivially empty: most have entries to rank.
    expect(nonEmpty).toBeGreaterThan(compared / 2);
    expect(seeded.some((r) => r.status === 'failed')).toBe(true);
  });

  it('keeps rows only for runs that succeeded, one per final metric', async () => {
    const rows = await h.db.prisma.runFinalMetric.findMany({ select: { runId: true, name: true, value: true, teamId: true, families: true } });
    const expected = seeded.filter((r) => r.status === 'succeeded').flatMap((r) => Object.entries(r.finals).map(([name, value]) => ({ runId: r.runId, name, value })));
    const key = (r: { runId: string; name: string }) => `${r.runId}/${r.name}`;
    expect(rows.map((r) => ({ runId: r.runId, name: r.name, value: r.value })).sort((a, b) => key(a).localeCompare(key(b)))).toEqual(expected.sort((a, b) => key(a).localeCompare(key(b))));
    const first = seeded.find((r) => r.status === 'succeeded')!;
    expect(rows.find((r) => r.runId === first.runId)!.families).toEqual([...new Set(first.techniques.map((t) => t.split('.')[0]))].sort());
  });
});
