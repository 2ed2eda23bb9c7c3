/**
 * The run list's family, sweep and metric-range filters over real HTTP against a real
 * Postgres: each alone, combined with the others and with tags and status, the latest
 * value of a metric deciding, a step's own figure of the same name ignored, bad input named;
 * and the trade-off (`pareto`) given the same filter plots exactly the runs the list shows,
 * at the same run-level values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let token: string;
let projectId: string;
let modelId: string;
let sweepId: string;
let teamId: string;
const ids: Record<'q4' | 'q8' | 'prune' | 'mixed' | 'swept', string> = { q4: '', q8: '', prune: '', mixed: '', swept: '' };

const LIST = `query($p: ID!, $f: RunFilter) { runs(projectId: $p, filter: $f, first: 50) { edges { node { id } } } }`;

/** A queued run with its steps, recorded as createRun records one (the list reads rows, whatever wrote them). */
async function create(steps: { technique: string; params: Record<string, unknown> }[], tags: string[] = []): Promise<string> {
  const run = await h.db.prisma.run.create({ data: { projectId, baseModelId: modelId, recipe: { steps } as object, status: 'queued', seed: 0, tags } });
  await h.db.prisma.runStep.createMany({ data: steps.map((s, index) => ({ runId: run.id, index, techniqueId: s.technique, params: s.params as object })) });
  return run.id;
}
async function list(filter: unknown): Promise<string[]> {
  return ok(await h.gql<{ runs: { edges: { node: { id: string } }[] } }>(LIST, { p: projectId, f: filter }, token)).runs.edges.map((e) => e.node.id).sort();
}
const sorted = (...xs: string[]) => [...xs].sort();

beforeAll(async () => {
  h = await startHarness();
  token = (await signUp(h, 'listfilters')).token;
  teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Filters") { id } }`, {}, token)).createTeam.id;
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: teamId }, token)).createProject.id;
  const up = await upload(h.api, tinyOnnxModel(4, 3), token, teamId);
  modelId = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, token)).importModel.id;
  expect((await waitForImport(h, modelId, token)).status).toBe('ready');

  ids.q4 = await create([{ technique: 'quantize.rtn', params: { bits: 4 } }], ['keep']);
  ids.q8 = await create([{ technique: 'quantize.rtn', params: { bits: 8 } }]);
  ids.prune = await create([{ technique: 'prune.magnitude', params: { sparsity: 0.5 } }], ['keep']);
  ids.mixed = await create([{ technique: 'prune.magnitude', params: { sparsity: 0.25 } }, { technique: 'quantize.rtn', params: { bits: 4 } }]);
  ids.swept = await create([{ technique: 'quantize.rtn', params: { bits: 3 } }]);
  const prisma = h.db.prisma;
  const sweep = await prisma.sweep.create({
    data: { projectId, baseModelId: modelId, name: 's', mode: 'grid', recipe: {}, space: {}, maxRuns: 1, parallelism: 1, seed: 0 },
  });
  sweepId = sweep.id;
  await prisma.run.update({ where: { id: ids.swept }, data: { sweepId } });
  // Perplexity of each run; q8 first recorded 90 then 40 (the latest value counts).
  const ppl: [string, number, Date][] = [
    [ids.q4, 60, new Date(2026, 0, 1)],
    [ids.q8, 90, new Date(2026, 0, 1)],
    [ids.q8, 40, new Date(2026, 0, 2)],
    [ids.prune, 120, new Date(2026, 0, 1)],
    [ids.swept, 75, new Date(2026, 0, 1)],
  ];
  await prisma.metric.createMany({ data: ppl.map(([runId, value, createdAt]) => ({ runId, name: 'perplexity', value, createdAt })) });
  // A step's own figure named like a catalogue metric is not the run's.
  const step = await prisma.runStep.findFirstOrThrow({ where: { runId: ids.mixed } });
  await prisma.metric.create({ data: { runId: ids.mixed, runStepId: step.id, name: 'perplexity', value: 50 } });
  // mixed has a run-level size but only that step's perplexity: it lacks a figure to plot.
  await prisma.metric.createMany({ data: [ids.q4, ids.q8, ids.prune, ids.swept, ids.mixed].map((runId, i) => ({ runId, name: 'size.bytes', value: [500, 900, 300, 400, 700][i]! })) });
});
afterAll(async () => h?.close());

describe('run list filters', () => {
  it('filters by technique family: runs with any step of that family', async () => {
    expect(await list({ family: 'prune' })).toEqual(sorted(ids.prune, ids.mixed));
    expect(await list({ family: 'quantize' })).toEqual(sorted(ids.q4, ids.q8, ids.mixed, ids.swept));
    expect(await list({ family: 'lowrank' })).toEqual([]);
  });

  it('filters by sweep', async () => {
    expect(await list({ sweepId })).toEqual([ids.swept]);
  });

  it("filters by ranges on a metric's latest run-level value", async () => {
    expect(await list({ metrics: [{ name: 'perplexity', max: 70 }] })).toEqual(sorted(ids.q4, ids.q8));
    expect(await list({ metrics: [{ name: 'perplexity', min: 60, max: 75 }] })).toEqual(sorted(ids.q4, ids.swept));
    expect(await list({ metrics: [{ name: 'perplexity', min: 100 }] })).toEqual([ids.prune]);
    // Two ranges must both hold.
    expect(await list({ metrics: [{ name: 'perplexity', max: 70 }, { name: 'size.bytes', max: 600 }] })).toEqual([ids.q4]);
  });

  it('combines with tags, status and the other filters', async () => {
    expect(await list({ tags: ['keep'], family: 'quantize' })).toEqual([ids.q4]);
    expect(await list({ family: 'quantize', metrics: [{ name: 'perplexity', min: 50 }], status: 'queued' })).toEqual(sorted(ids.q4, ids.swept));
    expect(await list({ family: 'quantize', sweepId, metrics: [{ name: 'perplexity', max: 70 }] })).toEqual([]);
    expect(await list({ status: 'succeeded', family: 'quantize' })).toEqual([]);
  });

  it('names bad input', async () => {
    const fieldOf = async (f: unknown) => (await h.gql(LIST, { p: projectId, f }, token)).errors?.[0]?.extensions;
    expect(await fieldOf({ family: 'shrink' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.family' });
    expect(await fieldOf({ sweepId: 'x' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.sweepId' });
    expect(await fieldOf({ metrics: [{ name: 'no.such.metric', min: 1 }] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.metrics[0].name' });
    expect(await fieldOf({ metrics: [{ name: 'perplexity' }] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.metrics[0]' });
    expect(await fieldOf({ metrics: [{ name: 'perplexity', min: 5, max: 1 }] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.metrics[0].min' });
  });
});

const PARETO = `query($p: ID, $s: ID, $f: RunFilter) { pareto(projectId: $p, sweepId: $s, x: "size.bytes", y: "perplexity", filter: $f) {
  frontier { run { id } } dominated { run { id } } missing } }`;

interface Front {
  frontier: { run: { id: string } }[];
  dominated: { run: { id: string } }[];
  missing: number;
}

async function plotted(filter: unknown, scope: { p?: string; s?: string } = { p: projectId }): Promise<{ ids: string[]; missing: number }> {
  const front = ok(await h.gql<{ pareto: Front }>(PARETO, { ...scope, f: filter }, token)).pareto;
  return { ids: [...front.frontier, ...front.dominated].map((p) => p.run.id).sort(), missing: front.missing };
}

describe("the trade-off honours the list's filter", () => {
  // Runs with both a run-level size and perplexity; the others are counted as missing.
  const withBoth = () => new Set([ids.q4, ids.q8, ids.prune, ids.swept]);

  it('plots exactly the listed runs that have both figures, for every kind of filter', async () => {
    const filters: unknown[] = [
      null,
      { status: 'queued' },
      { status: 'succeeded' },
      { family: 'quantize' },
      { family: 'prune' },
      { tags: ['keep'] },
      { param: { path: 'bits', equals: 4 } },
      { sweepId },
      { metrics: [{ name: 'perplexity', max: 70 }] },
      { family: 'quantize', metrics: [{ name: 'perplexity', min: 50 }], tags: ['keep'] },
    ];
    const counts: number[] = [];
    for (const f of filters) {
      const listed = await list(f);
      const got = await plotted(f);
      expect(got.ids, JSON.stringify(f)).toEqual(listed.filter((id) => withBoth().has(id)));
      counts.push(got.ids.length);
    }
    // The filters did narrow the chart (all four, then fewer).
    expect(counts[0]).toBe(4);
    expect(counts.slice(1)).toEqual([4, 0, 3, 1, 2, 1, 1, 2, 1]);
  });

  it('counts as missing only the filtered runs that lack a figure', async () => {
    // mixed (prune + quantize) has a run-level size and only a step's perplexity; prune has both.
    expect((await plotted({ family: 'prune' })).missing).toBe(1);
    expect((await plotted({ tags: ['keep'] })).missing).toBe(0);
  });

  it("narrows a sweep's trade-off too", async () => {
    expect((await plotted({ family: 'quantize' }, { s: sweepId })).ids).toEqual([ids.swept]);
    expect((await plotted({ family: 'prune' }, { s: sweepId })).ids).toEqual([]);
  });

  it('names bad filter input as the list does', async () => {
    const fieldOf = async (f: unknown) => (await h.gql(PARETO, { p: projectId, f }, token)).errors?.[0]?.extensions;
    expect(await fieldOf({ family: 'shrink' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.family' });
    expect(await fieldOf({ metrics: [{ name: 'perplexity', min: 5, max: 1 }] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.metrics[0].min' });
  });
});

describe('the trade-off reads the same run-level values as the list', () => {
  it("ignores a step's own figure recorded later under a catalogue metric's name", async () => {
    const p = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "levels") { id } }`, { t: teamId }, token)).createProject.id;
    const prisma = h.db.prisma;
    const run = async () => {
      const r = await prisma.run.create({ data: { projectId: p, baseModelId: modelId, recipe: { steps: [] }, status: 'succeeded', seed: 0 } });
      const s = await prisma.runStep.create({ data: { runId: r.id, index: 0, techniqueId: 'quantize.rtn', params: { bits: 4 } } });
      return { id: r.id, stepId: s.id };
    };
    const [small, big, stepOnly] = [await run(), await run(), await run()];
    const early = new Date(2026, 0, 1);
    const late = new Date(2026, 0, 2);
    await prisma.metric.createMany({
      data: [
        { runId: small.id, name: 'size.bytes', value: 100, createdAt: early },
        { runId: small.id, name: 'perplexity', value: 50, createdAt: early },
        // Recorded after the run's own value: the newest row, but a step's figure.
        { runId: small.id, runStepId: small.stepId, name: 'perplexity', value: 10, createdAt: late },
        { runId: big.id, name: 'size.bytes', value: 200, createdAt: early },
        { runId: big.id, name: 'perplexity', value: 30, createdAt: early },
        // Only a step's perplexity: the run has no run-level figure to plot.
        { runId: stepOnly.id, name: 'size.bytes', value: 150, createdAt: early },
        { runId: stepOnly.id, runStepId: stepOnly.stepId, name: 'perplexity', value: 5, createdAt: late },
      ],
    });
    const front = ok(
      await h.gql<{ pareto: { frontier: { run: { id: string }; x: number; y: number }[]; dominated: { run: { id: string } }[]; missing: number } }>(
        `query($p: ID!) { pareto(projectId: $p, x: "size.bytes", y: "perplexity") { frontier { run { id } x y } dominated { run { id } } missing } }`,
        { p },
        token,
      ),
    ).pareto;
    // With the step's 10, small would dominate big; with its own 50 both are on the frontier.
    expect(front.frontier).toEqual([
      { run: { id: small.id }, x: 100, y: 50 },
      { run: { id: big.id }, x: 200, y: 30 },
    ]);
    expect(front.dominated).toEqual([]);
    expect(front.missing).toBe(1);
    // The list's range on the same metric sees the same values.
    const listed = ok(await h.gql<{ runs: { edges: { node: { id: string } }[] } }>(LIST, { p, f: { metrics: [{ name: 'perplexity', max: 40 }] } }, token)).runs.edges.map((e) => e.node.id);
    expect(listed).toEqual([big.id]);
  });
});
