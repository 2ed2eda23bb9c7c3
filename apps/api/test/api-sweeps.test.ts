/**
 * Saved recipes and sweeps over real HTTP, Postgres and a real worker taking only
 * advance-sweep jobs: versions on change, createRun from a saved recipe, a grid sweep that
 * starts its next run as earlier ones finish, a Pareto sweep that searches next to its
 * frontier, canceling a sweep with a running run, and the refusals. Runs are marked
 * finished the way a worker records them.
 */
import { pino } from 'pino';
import { transitionRun } from '@distillery/db';
import { startWorker, type RunningWorker } from '@distillery/workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let sweeper: RunningWorker;
let owner: { token: string };
let viewer: { token: string; email: string };
let outsider: { token: string };
let teamId: string;
let projectId: string;
let modelId: string;

const SAVE = `mutation($t: ID!, $n: String!, $r: JSON!) { saveRecipe(teamId: $t, name: $n, recipe: $r) { id name version recipe } }`;
const CREATE_SWEEP = `mutation($p: ID!, $m: ID!, $n: String!, $mode: SweepMode!, $r: JSON, $s: JSON!, $max: Int!, $par: Int, $o: SweepObjectiveInput) {
  createSweep(projectId: $p, baseModelId: $m, name: $n, mode: $mode, recipe: $r, space: $s, maxRuns: $max, parallelism: $par, objective: $o) { id status runs { id } } }`;
const SWEEP = `query($id: ID!) { sweep(id: $id) { status note runs { id status recipe } } }`;

interface SweepState {
  status: string;
  note: string | null;
  runs: { id: string; status: string; recipe: { steps: { params: { bits: number } }[] } }[];
}

async function sweepState(id: string): Promise<SweepState> {
  return ok(await h.gql<{ sweep: SweepState }>(SWEEP, { id }, owner.token)).sweep;
}

/** Polls until `done(state)` holds (the worker advances sweeps every 100 ms here). */
async function waitFor(id: string, done: (s: SweepState) => boolean): Promise<SweepState> {
  for (let i = 0; i < 600; i++) {
    const s = await sweepState(id);
    if (done(s)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sweep ${id} did not reach the expected state: ${JSON.stringify(await sweepState(id))}`);
}

/** Record a queued run as succeeded with the given final metrics. */
async function finish(runId: string, metrics: Record<string, number>): Promise<void> {
  await h.db.prisma.run.update({ where: { id: runId }, data: { status: 'succeeded', finishedAt: new Date() } });
  await h.db.prisma.metric.createMany({ data: Object.entries(metrics).map(([name, value]) => ({ runId, name, value })) });
}

beforeAll(async () => {
  h = await startHarness();
  sweeper = await startWorker({ databaseUrl: h.db.url, store: h.store, log: pino({ level: 'silent' }), threads: 1, pollIntervalMs: 100, tasks: ['advance-sweep'], sweepAdvanceIntervalMs: 100 });
  owner = await signUp(h, 'sweep-owner');
  viewer = await signUp(h, 'sweep-viewer');
  outsider = await signUp(h, 'sweep-outsider');
  teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Sweepers") { id } }`, {}, owner.token)).createTeam.id;
  const inv = ok(await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e, role: viewer) { id } }`, { t: teamId, e: viewer.email }, owner.token));
  ok(await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: inv.inviteMember.id }, viewer.token));
  ok(await h.gql(`mutation { createTeam(name: "Others") { id } }`, {}, outsider.token));
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "sw") { id } }`, { t: teamId }, owner.token)).createProject.id;
  const up = await upload(h.api, tinyOnnxModel(), owner.token, teamId);
  modelId = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, owner.token)).importModel.id;
  expect((await waitForImport(h, modelId, owner.token)).status).toBe('ready');
});
afterAll(async () => {
  await sweeper?.stop();
  await h?.close();
});

describe('saved recipes', () => {
  it('adds a version only when the content changes, and starts runs from a version', async () => {
    const r = { steps: [{ technique: 'quantize.rtn', params: { bits: 4 } }] };
    const v1 = ok(await h.gql<{ saveRecipe: { id: string; version: number } }>(SAVE, { t: teamId, n: 'int4', r }, owner.token)).saveRecipe;
    expect(v1.version).toBe(1);
    // The same content with defaults spelled out, in another key order, is the same version.
    const again = ok(await h.gql<{ saveRecipe: { id: string; version: number; recipe: unknown } }>(SAVE, { t: teamId, n: 'int4', r: { steps: [{ params: { bits: 4 }, technique: 'quantize.rtn' }] } }, owner.token)).saveRecipe;
    expect(again.id).toBe(v1.id);
    const v2 = ok(await h.gql<{ saveRecipe: { id: string; version: number } }>(SAVE, { t: teamId, n: 'int4', r: { steps: [{ technique: 'quantize.rtn', params: { bits: 3 } }] } }, owner.token)).saveRecipe;
    expect(v2.version).toBe(2);
    const latest = ok(await h.gql<{ recipes: { name: string; version: number }[] }>(`query($t: ID!) { recipes(teamId: $t) { name version } }`, { t: teamId }, owner.token)).recipes;
    expect(latest).toEqual([{ name: 'int4', version: 2 }]);
    const all = ok(await h.gql<{ recipes: { version: number }[] }>(`query($t: ID!) { recipes(teamId: $t, name: "int4") { version } }`, { t: teamId }, viewer.token)).recipes;
    expect(all.map((x) => x.version)).toEqual([2, 1]);

    const run = ok(await h.gql<{ createRun: { id: string; recipe: { steps: { params: { bits: number } }[] } } }>(`mutation($p: ID!, $m: ID!, $r: ID!) { createRun(projectId: $p, baseModelId: $m, recipeId: $r) { id recipe } }`, { p: projectId, m: modelId, r: v1.id }, owner.token)).createRun;
    expect(run.recipe.steps[0]!.params.bits).toBe(4);
    const read = ok(await h.gql<{ run: { savedRecipeId: string | null; sweepId: string | null } }>(`query($id: ID!) { run(id: $id) { savedRecipeId sweepId } }`, { id: run.id }, viewer.token)).run;
    expect(read).toEqual({ savedRecipeId: v1.id, sweepId: null });

    const both = await h.gql(`mutation($p: ID!, $m: ID!, $r: ID!) { createRun(projectId: $p, baseModelId: $m, recipeId: $r, recipe: {steps: []}) { id } }`, { p: projectId, m: modelId, r: v1.id }, owner.token);
    expect(both.errors?.[0]?.extensions?.field).toBe('recipe');
    expect((await h.gql(SAVE, { t: teamId, n: 'x', r }, viewer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(SAVE, { t: teamId, n: 'x', r: { steps: [{ technique: 'nope' }] } }, owner.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await h.gql(`query($t: ID!) { recipes(teamId: $t) { id } }`, { t: teamId }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('sweeps', () => {
  const template = { steps: [{ technique: 'quantize.rtn' }] };

  it('runs a grid sweep at most `parallelism` at a time, starting the next run as one finishes', async () => {
    const created = ok(await h.gql<{ createSweep: { id: string; status: string; runs: { id: string }[] } }>(CREATE_SWEEP, {
      p: projectId, m: modelId, n: 'bits grid', mode: 'grid', r: template, s: [{ path: 'steps[0].params.bits', values: [2, 3, 4, 8] }], max: 3, par: 2,
    }, owner.token)).createSweep;
    expect(created.status).toBe('active');
    expect(created.runs.length).toBe(2);
    let s = await sweepState(created.id);
    expect(s.runs.map((r) => r.recipe.steps[0]!.params.bits)).toEqual([2, 3]);
    const first = ok(await h.gql<{ run: { sweepId: string } }>(`query($id: ID!) { run(id: $id) { sweepId } }`, { id: s.runs[0]!.id }, owner.token)).run;
    expect(first.sweepId).toBe(created.id);
    await finish(s.runs[0]!.id, {});
    s = await waitFor(created.id, (x) => x.runs.length === 3);
    expect(s.runs.map((r) => r.recipe.steps[0]!.params.bits)).toEqual([2, 3, 4]);
    expect(s.status).toBe('active');
    await finish(s.runs[1]!.id, {});
    await finish(s.runs[2]!.id, {});
    s = await waitFor(created.id, (x) => x.status !== 'active');
    expect(s.status).toBe('done');
    expect(s.runs.length).toBe(3);
  });

  it('cancels a sweep: queued runs at once, running ones on request; canceling until they stop, and no run starts after', async () => {
    const created = ok(await h.gql<{ createSweep: { id: string; runs: { id: string }[] } }>(CREATE_SWEEP, {
      p: projectId, m: modelId, n: 'to stop', mode: 'grid', r: template, s: [{ path: 'steps[0].params.bits', values: [2, 3, 4, 5] }], max: 4, par: 2,
    }, owner.token)).createSweep;
    const [running, queued] = created.runs.map((r) => r.id) as [string, string];
    // A worker claims the first run, through the run lifecycle as workers do.
    await h.db.prisma.$transaction((tx) => transitionRun(tx, running, 'running', { status: ['queued'] }, { workerId: 'test-worker', startedAt: new Date() }));

    const CANCEL = `mutation($id: ID!) { cancelSweep(id: $id) { status } }`;
    expect(ok(await h.gql<{ cancelSweep: { status: string } }>(CANCEL, { id: created.id }, owner.token)).cancelSweep.status).toBe('canceling');
    const runsNow = await h.db.prisma.run.findMany({ where: { sweepId: created.id }, select: { id: true, status: true, cancelRequested: true } });
    expect(runsNow.find((r) => r.id === queued)).toMatchObject({ status: 'canceled' });
    expect(runsNow.find((r) => r.id === running)).toMatchObject({ status: 'running', cancelRequested: true });
    const jobs = await h.db.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM graphile_worker.jobs WHERE key = ${queued}`;
    expect(Number(jobs[0]!.n)).toBe(0);

    // The advance job keeps looking (every 100 ms here) but starts nothing while the run stops.
    await new Promise((r) => setTimeout(r, 800));
    let s = await sweepState(created.id);
    expect(s.status).toBe('canceling');
    expect(s.runs).toHaveLength(2);
    // Canceling again changes nothing.
    expect(ok(await h.gql<{ cancelSweep: { status: string } }>(CANCEL, { id: created.id }, owner.token)).cancelSweep.status).toBe('canceling');

    // The worker reaches its safe point and stops the run.
    await h.db.prisma.$transaction((tx) => transitionRun(tx, running, 'canceled', { status: ['running'], workerId: 'test-worker' }, { finishedAt: new Date() }));
    s = await waitFor(created.id, (x) => x.status !== 'canceling');
    expect(s.status).toBe('canceled');
    expect(s.runs.map((r) => r.status)).toEqual(['canceled', 'canceled']);
    await new Promise((r) => setTimeout(r, 500));
    expect((await sweepState(created.id)).runs).toHaveLength(2);
  });

  it('searches next to the frontier in pareto mode, within the run budget', async () => {
    const bits = [2, 3, 4, 5, 6, 7, 8];
    const created = ok(await h.gql<{ createSweep: { id: string } }>(CREATE_SWEEP, {
      p: projectId, m: modelId, n: 'bits pareto', mode: 'pareto', r: template, s: [{ path: 'steps[0].params.bits', values: bits }], max: 5, par: 2, o: { x: 'size.bytes', y: 'perplexity' },
    }, owner.token)).createSweep;
    const evaluatedBits: number[] = [];
    for (;;) {
      const s = await waitFor(created.id, (x) => x.status !== 'active' || x.runs.some((r) => r.status === 'queued'));
      if (s.status !== 'active') break;
      for (const r of s.runs.filter((x) => x.status === 'queued')) {
        const b = r.recipe.steps[0]!.params.bits;
        if (evaluatedBits.length >= 2) {
          // Past the two random seeds, every proposal neighbours an evaluated configuration.
          expect(evaluatedBits.some((e) => Math.abs(bits.indexOf(e) - bits.indexOf(b)) === 1)).toBe(true);
        }
        evaluatedBits.push(b);
        // A clean trade-off: every configuration is on the frontier.
        await finish(r.id, { 'size.bytes': b * 100, perplexity: 100 / b });
      }
    }
    const s = await sweepState(created.id);
    expect(s.status).toBe('done');
    expect(s.runs.length).toBe(5);
    expect(new Set(evaluatedBits).size).toBe(5);
    const front = ok(await h.gql<{ pareto: { frontier: { run: { id: string } }[]; dominated: unknown[] } }>(`query($s: ID!) { pareto(sweepId: $s, x: "size.bytes", y: "perplexity") { frontier { run { id } } dominated { run { id } } } }`, { s: created.id }, owner.token)).pareto;
    expect(front.frontier.length).toBe(5);
    expect(front.dominated).toEqual([]);
  });

  it('refuses invalid spaces, missing objectives, viewers and other teams', async () => {
    const base = { p: projectId, m: modelId, n: 'bad', mode: 'grid', r: template, max: 3 };
    const badValue = await h.gql(CREATE_SWEEP, { ...base, s: [{ path: 'steps[0].params.bits', values: [4, 99] }] }, owner.token);
    expect(badValue.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'space' } });
    expect(badValue.errors?.[0]?.message).toContain('steps[0].params.bits = 99');
    const badPath = await h.gql(CREATE_SWEEP, { ...base, s: [{ path: 'steps[3].params.bits', values: [4] }] }, owner.token);
    expect(badPath.errors?.[0]?.extensions?.field).toBe('space');
    const noObjective = await h.gql(CREATE_SWEEP, { ...base, mode: 'pareto', s: [{ path: 'steps[0].params.bits', values: [4] }] }, owner.token);
    expect(noObjective.errors?.[0]?.extensions?.field).toBe('objective');
    const range = await h.gql(CREATE_SWEEP, { ...base, s: [{ path: 'steps[0].params.bits', min: 2, max: 8 }] }, owner.token);
    expect(range.errors?.[0]?.message).toMatch(/need a list of values/);
    expect((await h.gql(CREATE_SWEEP, { ...base, s: [{ path: 'steps[0].params.bits', values: [4] }] }, viewer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const sw = ok(await h.gql<{ createSweep: { id: string } }>(CREATE_SWEEP, { ...base, n: 'to cancel', s: [{ path: 'steps[0].params.bits', values: [2, 3, 4, 5] }], max: 4, par: 1 }, owner.token)).createSweep;
    expect((await h.gql(SWEEP, { id: sw.id }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(`mutation($id: ID!) { cancelSweep(id: $id) { status } }`, { id: sw.id }, viewer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(ok(await h.gql<{ cancelSweep: { status: string } }>(`mutation($id: ID!) { cancelSweep(id: $id) { status } }`, { id: sw.id }, owner.token)).cancelSweep.status).toBe('canceled');
    const s = await sweepState(sw.id);
    await finish(s.runs[0]!.id, {});
    await new Promise((r) => setTimeout(r, 500));
    expect((await sweepState(sw.id)).runs.length).toBe(1);
  });
});
