/**
 * Comparing and ranking over real GraphQL/HTTP and Postgres: compareRuns (metric table
 * with deltas, recipe diff, series), pareto, leaderboards (team and public, suite versions
 * kept apart, budgets), lineage graphs and model folder downloads, with the refusals.
 * Finished runs are recorded in the database the way a worker records them.
 */
import { createHash } from 'node:crypto';
import { refreshFinalMetrics } from '@distillery/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let owner: { token: string };
let outsider: { token: string };
let teamId: string;
let otherTeamId: string;
let projectId: string;
let otherProjectId: string;
let modelId: string;
let otherModelId: string;

const CREATE_RUN = `mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }`;

interface Finished {
  runId: string;
  outputModelId: string;
}

/** A run created through the API, then recorded as succeeded with metrics and an output model. */
async function finishedRun(token: string, project: string, base: string, bits: number, metrics: Record<string, number>, suiteVersion = 1): Promise<Finished> {
  const recipe = { steps: [{ technique: 'quantize.rtn-int8', params: { minSize: bits } }] };
  const runId = ok(await h.gql<{ createRun: { id: string } }>(CREATE_RUN, { p: project, m: base, r: recipe }, token)).createRun.id;
  const baseRow = await h.db.prisma.model.findUniqueOrThrow({ where: { id: base } });
  const stored = await h.store.put(Buffer.from(`output of ${runId}`));
  const steps = await h.db.prisma.runStep.findMany({ where: { runId } });
  const model = await h.db.prisma.model.create({
    data: { teamId: baseRow.teamId, projectId: project, name: `${baseRow.name}-q${bits}`, format: 'onnx', sha256: stored.sha256, bytes: BigInt(stored.bytes), parameterCount: 12n, storagePath: stored.path, parentId: base, producedByRunId: runId, config: { decoderConfig: { hidden_size: 4 } } },
  });
  await h.db.prisma.runStep.update({ where: { id: steps[0]!.id }, data: { status: 'succeeded', outputModelId: model.id } });
  await h.db.prisma.run.update({ where: { id: runId }, data: { status: 'succeeded', finishedAt: new Date(), evaluation: { suite: { id: 'distillery-standard', version: suiteVersion, hash: 'b'.repeat(64) } } } });
  await h.db.prisma.metric.createMany({ data: Object.entries(metrics).map(([name, value]) => ({ runId, name, value })) });
  // Recorded directly, so the final-figures table is brought up to date as the run lifecycle would.
  await refreshFinalMetrics(h.db.prisma, [runId]);
  return { runId, outputModelId: model.id };
}

let runs: Finished[];

beforeAll(async () => {
  h = await startHarness();
  owner = await signUp(h, 'cmp-owner');
  outsider = await signUp(h, 'cmp-outsider');
  teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Compare Lab") { id } }`, {}, owner.token)).createTeam.id;
  otherTeamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Rivals") { id } }`, {}, outsider.token)).createTeam.id;
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "cmp") { id } }`, { t: teamId }, owner.token)).createProject.id;
  otherProjectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "rival") { id } }`, { t: otherTeamId }, outsider.token)).createProject.id;
  for (const [token, project, team] of [[owner.token, projectId, teamId], [outsider.token, otherProjectId, otherTeamId]] as const) {
    const up = await upload(h.api, tinyOnnxModel(4, 3), token, team);
    const id = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: project, s: up.body.sha256 }, token)).importModel.id;
    expect((await waitForImport(h, id, token)).status).toBe('ready');
    if (project === projectId) modelId = id;
    else otherModelId = id;
  }
  runs = [
    await finishedRun(owner.token, projectId, modelId, 8, { 'size.bytes': 1000, 'base.size.bytes': 4000, perplexity: 50, 'base.perplexity': 49, 'divergence.top1': 0.99, 'latency.decodeMs.p50': 2 }),
    await finishedRun(owner.token, projectId, modelId, 4, { 'size.bytes': 500, 'base.size.bytes': 4000, perplexity: 60, 'base.perplexity': 49, 'divergence.top1': 0.9, 'latency.decodeMs.p50': 1 }),
    await finishedRun(owner.token, projectId, modelId, 3, { 'size.bytes': 600, 'base.size.bytes': 4000, perplexity: 70, 'base.perplexity': 49, 'divergence.top1': 0.8, 'latency.decodeMs.p50': 5 }),
    // Scored with another suite version: never ranked with the others.
    await finishedRun(owner.token, projectId, modelId, 2, { 'size.bytes': 100, 'base.size.bytes': 4000, perplexity: 10, 'base.perplexity': 49 }, 2),
    await finishedRun(outsider.token, otherProjectId, otherModelId, 6, { 'size.bytes': 400, 'base.size.bytes': 4000, perplexity: 45, 'base.perplexity': 49 }),
  ];
  // A training-loss series on the first two runs.
  await h.db.prisma.metric.createMany({ data: [0, 1, 2, 3].flatMap((step) => [runs[0]!, runs[1]!].map((r, i) => ({ runId: r.runId, name: 'steps.0.loss', value: 5 - step - i, step }))) });
});
afterAll(async () => {
  await h?.close();
});

const COMPARE = `query($ids: [ID!]!, $b: ID) { compareRuns(ids: $ids, baseline: $b) {
  runs { id } baseline { id }
  metrics { name label unit lowerIsBetter cells { runId value reference delta ratio better } }
  recipeDiff { path values }
  series(names: ["steps.0.loss"], maxPoints: 3) { runId name points { step value } }
} }`;

interface Compared {
  compareRuns: {
    runs: { id: string }[];
    baseline: { id: string } | null;
    metrics: { name: string; label: string | null; unit: string | null; lowerIsBetter: boolean | null; cells: { runId: string; value: number | null; reference: number | null; delta: number | null; ratio: number | null; better: boolean | null }[] }[];
    recipeDiff: { path: string; values: unknown[] }[];
    series: { runId: string; name: string; points: { step: number; value: number }[] }[];
  };
}

describe('compareRuns', () => {
  it('aligns metrics with deltas against each base model, diffs recipes and overlays series', async () => {
    const ids = [runs[0]!.runId, runs[1]!.runId, runs[2]!.runId];
    const c = ok(await h.gql<Compared>(COMPARE, { ids }, owner.token)).compareRuns;
    expect(c.runs.map((r) => r.id)).toEqual(ids);
    expect(c.baseline).toBeNull();
    const ppl = c.metrics.find((m) => m.name === 'perplexity')!;
    expect(ppl).toMatchObject({ label: 'Perplexity (test split)', lowerIsBetter: true });
    expect(ppl.cells.map((x) => [x.value, x.reference, x.delta, x.better])).toEqual([[50, 49, 1, false], [60, 49, 11, false], [70, 49, 21, false]]);
    const size = c.metrics.find((m) => m.name === 'size.bytes')!;
    expect(size.cells[1]).toMatchObject({ value: 500, reference: 4000, ratio: 0.125, better: true });
    expect(c.recipeDiff).toEqual([{ path: 'steps[0].params.minSize', values: [8, 4, 3] }]);
    const s0 = c.series.find((s) => s.runId === ids[0])!;
    // 4 points thinned to at most 3: every other one, and the last.
    expect(s0.points).toEqual([{ step: 0, value: 5 }, { step: 2, value: 3 }, { step: 3, value: 2 }]);
    expect(c.series.find((s) => s.runId === ids[2])!.points).toEqual([]);
  });

  it('measures every run against a chosen baseline run', async () => {
    const c = ok(await h.gql<Compared>(COMPARE, { ids: [runs[1]!.runId, runs[2]!.runId], b: runs[0]!.runId }, owner.token)).compareRuns;
    expect(c.baseline?.id).toBe(runs[0]!.runId);
    const top1 = c.metrics.find((m) => m.name === 'divergence.top1')!;
    expect(top1.cells.map((x) => [x.reference, x.better])).toEqual([[0.99, false], [0.99, false]]);
    expect(top1.cells[0]!.delta).toBeCloseTo(-0.09, 12);
  });

  it('refuses other teams, strangers, and too few or too many runs', async () => {
    const mixed = await h.gql(COMPARE, { ids: [runs[0]!.runId, runs[4]!.runId] }, owner.token);
    expect(mixed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(mixed.data).toBeNull();
    expect((await h.gql(COMPARE, { ids: [runs[0]!.runId, runs[1]!.runId] })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await h.gql(COMPARE, { ids: [runs[0]!.runId, runs[1]!.runId], b: runs[4]!.runId }, owner.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const one = await h.gql(COMPARE, { ids: [runs[0]!.runId, runs[0]!.runId] }, owner.token);
    expect(one.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'ids' } });
  });
});

const PARETO = `query($p: ID!, $x: String!, $y: String!, $v: Int) { pareto(projectId: $p, x: $x, y: $y, suiteVersion: $v) {
  x { name lowerIsBetter } y { name lowerIsBetter } frontier { run { id } x y } dominated { run { id } dominatedBy dominatedByCount } missing } }`;

describe('pareto', () => {
  it('finds the frontier of a project on size and perplexity, per suite version', async () => {
    const r = ok(await h.gql<{ pareto: { frontier: { run: { id: string }; x: number; y: number }[]; dominated: { run: { id: string }; dominatedBy: string[]; dominatedByCount: number }[]; missing: number; y: { lowerIsBetter: boolean } } }>(
      PARETO, { p: projectId, x: 'size.bytes', y: 'perplexity', v: 1 }, owner.token)).pareto;
    expect(r.frontier.map((f) => f.run.id)).toEqual([runs[1]!.runId, runs[0]!.runId]);
    expect(r.dominated).toEqual([{ run: { id: runs[2]!.runId }, dominatedBy: [runs[1]!.runId], dominatedByCount: 1 }]);
    expect(r.missing).toBe(0);
    expect(r.y.lowerIsBetter).toBe(true);
    // Without the version filter the version-2 run joins and dominates everything.
    const all = ok(await h.gql<{ pareto: { frontier: { run: { id: string } }[] } }>(PARETO, { p: projectId, x: 'size.bytes', y: 'perplexity' }, owner.token)).pareto;
    expect(all.frontier.map((f) => f.run.id)).toEqual([runs[3]!.runId]);
  });

  it("gives each point its run's id, base model id and recipe, the same as the run's own fields", async () => {
    const q = `query($p: ID!) { pareto(projectId: $p, x: "size.bytes", y: "perplexity") {
      frontier { runId baseModelId recipe run { id baseModelId recipe } } dominated { runId baseModelId recipe run { id baseModelId recipe } } } }`;
    type Point = { runId: string; baseModelId: string; recipe: unknown; run: { id: string; baseModelId: string; recipe: unknown } };
    const r = ok(await h.gql<{ pareto: { frontier: Point[]; dominated: Point[] } }>(q, { p: projectId }, owner.token)).pareto;
    const points = [...r.frontier, ...r.dominated];
    expect(points.length).toBe(4);
    for (const p of points) expect({ id: p.runId, baseModelId: p.baseModelId, recipe: p.recipe }).toEqual(p.run);
    expect(points.every((p) => p.recipe !== null && typeof p.recipe === 'object')).toBe(true);
  });

  it("keeps only the named runs when given runIds (a comparison's trade-off)", async () => {
    const q = `query($p: ID!, $ids: [ID!]) { pareto(projectId: $p, x: "size.bytes", y: "perplexity", suiteVersion: 1, runIds: $ids) { frontier { run { id } } dominated { run { id } } } }`;
    // Without runs[1] (which dominated runs[2]), runs[2] joins the frontier.
    const two = ok(await h.gql<{ pareto: { frontier: { run: { id: string } }[]; dominated: unknown[] } }>(q, { p: projectId, ids: [runs[0]!.runId, runs[2]!.runId] }, owner.token)).pareto;
    expect(two.frontier.map((f) => f.run.id).sort()).toEqual([runs[0]!.runId, runs[2]!.runId].sort());
    expect(two.dominated).toEqual([]);
    const bad = await h.gql(q, { p: projectId, ids: ['nope'] }, owner.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'runIds[0]' });
  });

  it('refuses metrics without a direction, and other teams', async () => {
    const neutral = await h.gql(PARETO, { p: projectId, x: 'eval.tokens', y: 'perplexity' }, owner.token);
    expect(neutral.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'x' } });
    expect((await h.gql(PARETO, { p: projectId, x: 'size.bytes', y: 'perplexity' }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

const BOARD = `query($m: String!, $s: LeaderboardScope!, $t: ID, $v: Int!, $f: LeaderboardFilter) {
  leaderboard(metric: $m, scope: $s, teamId: $t, suiteVersion: $v, filter: $f) { metric { lowerIsBetter } entries { rank runId value teamName techniques sizeBytes run { id } } } }`;
type Board = { leaderboard: { entries: { rank: number; runId: string; value: number; teamName: string; techniques: string[]; sizeBytes: number | null; run: { id: string } | null }[] } };

describe('leaderboard', () => {
  it("ranks a team's runs of one suite version, best first, with budgets", async () => {
    const b = ok(await h.gql<Board>(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 1 }, owner.token)).leaderboard;
    expect(b.entries.map((e) => [e.rank, e.runId, e.value])).toEqual([[1, runs[0]!.runId, 50], [2, runs[1]!.runId, 60], [3, runs[2]!.runId, 70]]);
    expect(b.entries[0]).toMatchObject({ teamName: 'Compare Lab', techniques: ['quantize.rtn-int8'], sizeBytes: 1000, run: { id: runs[0]!.runId } });
    const v2 = ok(await h.gql<Board>(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 2 }, owner.token)).leaderboard;
    expect(v2.entries.map((e) => e.runId)).toEqual([runs[3]!.runId]);
    const small = ok(await h.gql<Board>(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 1, f: { maxSizeBytes: 800, maxDecodeMsP50: 4 } }, owner.token)).leaderboard;
    expect(small.entries.map((e) => e.runId)).toEqual([runs[1]!.runId]);
    const higher = ok(await h.gql<Board>(BOARD, { m: 'divergence.top1', s: 'TEAM', t: teamId, v: 1 }, owner.token)).leaderboard;
    expect(higher.entries.map((e) => e.value)).toEqual([0.99, 0.9, 0.8]);
    // A page the first candidates fill, and one they do not (read from the budget's runs instead).
    const top2 = ok(await h.gql<{ leaderboard: { entries: { runId: string }[] } }>(`query($t: ID!) { leaderboard(metric: "perplexity", scope: TEAM, teamId: $t, suiteVersion: 1, first: 2) { entries { runId } } }`, { t: teamId }, owner.token)).leaderboard;
    expect(top2.entries.map((e) => e.runId)).toEqual([runs[0]!.runId, runs[1]!.runId]);
    const budget = ok(await h.gql<{ leaderboard: { entries: { runId: string }[] } }>(`query($t: ID!) { leaderboard(metric: "perplexity", scope: TEAM, teamId: $t, suiteVersion: 1, first: 2, filter: {maxSizeBytes: 600}) { entries { runId } } }`, { t: teamId }, owner.token)).leaderboard;
    expect(budget.entries.map((e) => e.runId)).toEqual([runs[1]!.runId, runs[2]!.runId]);
    const pruned = ok(await h.gql<Board>(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 1, f: { techniqueFamily: 'prune' } }, owner.token)).leaderboard;
    expect(pruned.entries).toEqual([]);
  });

  it('shows opted-in teams on the public board, without their run details', async () => {
    const before = ok(await h.gql<Board>(BOARD, { m: 'perplexity', s: 'PUBLIC', v: 1 }, outsider.token)).leaderboard;
    expect(before.entries).toEqual([]);
    expect((await h.gql(`mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: true) { leaderboardPublic } }`, { t: teamId }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    ok(await h.gql(`mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: true) { leaderboardPublic } }`, { t: teamId }, owner.token));
    const after = ok(await h.gql<Board>(BOARD, { m: 'perplexity', s: 'PUBLIC', v: 1 }, outsider.token)).leaderboard;
    expect(after.entries.map((e) => [e.runId, e.teamName, e.run])).toEqual([[runs[0]!.runId, 'Compare Lab', null], [runs[1]!.runId, 'Compare Lab', null], [runs[2]!.runId, 'Compare Lab', null]]);
  });

  it("refuses another team's board and bad filters", async () => {
    expect((await h.gql(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 1 }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 1 })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await h.gql(BOARD, { m: 'perplexity', s: 'TEAM', t: teamId, v: 1, f: { techniqueFamily: 'magic' } }, owner.token)).errors?.[0]).toMatchObject({ extensions: { field: 'filter.techniqueFamily' } });
    expect((await h.gql(BOARD, { m: 'eval.tokens', s: 'TEAM', t: teamId, v: 1 }, owner.token)).errors?.[0]).toMatchObject({ extensions: { field: 'metric' } });
  });
});

describe('lineage and model folders', () => {
  it('returns base model -> runs -> derived models as a graph', async () => {
    const g = ok(await h.gql<{ lineage: { nodes: { id: string; kind: string }[]; edges: { from: string; to: string; kind: string }[] } }>(
      `query($m: ID!) { lineage(modelId: $m) { nodes { id kind } edges { from to kind } } }`, { m: runs[0]!.outputModelId }, owner.token)).lineage;
    expect(g.nodes.filter((n) => n.kind === 'RUN').length).toBe(4);
    expect(g.nodes.filter((n) => n.kind === 'MODEL').length).toBe(5);
    expect(g.edges).toContainEqual({ from: modelId, to: runs[0]!.runId, kind: 'BASE_OF' });
    expect(g.edges).toContainEqual({ from: runs[0]!.runId, to: runs[0]!.outputModelId, kind: 'PRODUCED' });
    expect(g.edges).toContainEqual({ from: modelId, to: runs[0]!.outputModelId, kind: 'PARENT_OF' });
    const p = ok(await h.gql<{ lineage: { nodes: { id: string }[] } }>(`query($p: ID!) { lineage(projectId: $p) { nodes { id } } }`, { p: projectId }, owner.token)).lineage;
    expect(p.nodes.length).toBe(9);
    expect((await h.gql(`query($m: ID!) { lineage(modelId: $m) { truncated } }`, { m: runs[0]!.outputModelId }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(`query($m: ID!, $p: ID!) { lineage(modelId: $m, projectId: $p) { truncated } }`, { m: modelId, p: projectId }, owner.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('lists a produced model as a folder with sha256 per file and serves each file to members only', async () => {
    const m = ok(await h.gql<{ model: { sha256: string; files: { path: string; sha256: string; bytes: number; url: string }[]; card: string } }>(
      `query($id: ID!) { model(id: $id) { sha256 files { path sha256 bytes url } card } }`, { id: runs[0]!.outputModelId }, owner.token)).model;
    expect(m.files.map((f) => f.path)).toEqual(['onnx/model.onnx', 'config.json', 'README.md']);
    expect(m.files[0]!.sha256).toBe(m.sha256);
    expect(m.card).toContain('Perplexity (test split)');
    expect(m.card).toContain('quantize.rtn-int8');
    expect(m.card).toMatch(/base \(`[0-9a-f]{12}`\) -> \*\*base-q8\*\*/);
    for (const f of m.files) {
      const res = await fetch(`${h.api.url}${f.url}`, { headers: { authorization: `Bearer ${owner.token}` } });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect(res.headers.get('x-content-sha256')).toBe(f.sha256);
    }
    const url = `${h.api.url}${m.files[0]!.url}`;
    expect((await fetch(url, { headers: { authorization: `Bearer ${outsider.token}` } })).status).toBe(403);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${h.api.url}/models/${runs[0]!.outputModelId}/files?path=../../etc/passwd`, { headers: { authorization: `Bearer ${owner.token}` } })).status).toBe(404);
    expect((await h.gql(`query($id: ID!) { model(id: $id) { files { path } } }`, { id: runs[0]!.outputModelId }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
