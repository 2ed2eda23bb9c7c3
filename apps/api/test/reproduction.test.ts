/**
 * reproduce(runId) over real HTTP with a real worker: the run's seed reaches training (a
 * different seed gives a different loss curve), every run records its provenance, a
 * re-run of a succeeded run reproduces it metric by metric within tolerance, and a
 * tampered metric turns the verdict into "differs" naming that metric.
 */
import { splitBundledCorpora } from '@distillery/data';
import { buildDecoder, decoderPreset, initDecoderWeights, toTokenizerJson, trainBpe } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { startWorker, type RunningWorker } from '@distillery/workers';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let worker: RunningWorker;
let token: string;
let projectId: string;
let modelId: string;

const RECIPE = {
  steps: [
    { technique: 'finetune.recover', params: { steps: 12, batchSize: 2, seqLen: 32, warmup: 2, lr: 1e-2 } },
    { technique: 'quantize.rtn-int8', params: {} },
  ],
  eval: { maxTokens: 256, choiceItems: 0, clozeItems: 0, latencyDecodeTokens: 2, latencyPromptLength: 8, threads: 1 },
};

interface RunState {
  id: string;
  status: string;
  seed: number;
  error: string | null;
  provenance: Record<string, unknown> | null;
  steps: { params: Record<string, unknown> }[];
}
const RUN_FIELDS = 'id status seed error provenance steps { params }';

async function finished(id: string): Promise<RunState> {
  for (;;) {
    const r = ok(await h.gql<{ run: RunState }>(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id }, token)).run;
    if (!['queued', 'running'].includes(r.status)) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}

async function create(seed: number): Promise<string> {
  return ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!, $r: JSON!, $s: Int) { createRun(projectId: $p, baseModelId: $m, recipe: $r, seed: $s) { id } }`, { p: projectId, m: modelId, r: RECIPE, s: seed }, token)).createRun.id;
}

async function lossCurve(id: string): Promise<number[]> {
  const r = ok(await h.gql<{ run: { metricSeries: { value: number }[] } }>(`query($id: ID!) { run(id: $id) { metricSeries(name: "steps.0.train.loss") { value } } }`, { id }, token));
  return r.run.metricSeries.map((p) => p.value);
}

beforeAll(async () => {
  h = await startHarness();
  worker = await startWorker({ databaseUrl: h.db.url, store: h.store, log: pino({ level: 'silent' }), threads: 1, pollIntervalMs: 200, tasks: ['execute-run'], evalCacheDir: `${h.dir}/eval-cache` });
  const owner = await signUp(h, 'repro');
  token = owner.token;
  const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Repro") { id } }`, {}, token)).createTeam.id;
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: team }, token)).createProject.id;
  const tokenizer = trainBpe(splitBundledCorpora().train.slice(0, 2).map((d) => d.text.slice(0, 10_000)), { vocabSize: 300 });
  const config = decoderPreset('tiny', { vocabSize: tokenizer.vocabSize });
  const tokUp = await upload(h.api, new TextEncoder().encode(JSON.stringify(toTokenizerJson(tokenizer))), token, team);
  const modelUp = await upload(h.api, serializeModel(buildDecoder(config, initDecoderWeights(config, 3, 0.2))).model, token, team);
  const m = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!, $t: String) { importModel(projectId: $p, name: "tiny", sha256: $s, tokenizerSha256: $t) { id } }`, { p: projectId, s: modelUp.body.sha256, t: tokUp.body.sha256 }, token));
  modelId = m.importModel.id;
  expect((await waitForImport(h, modelId, token)).status).toBe('ready');
});
afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('reproduce', () => {
  it('uses the run seed, records provenance, and reproduces a run within tolerance', async () => {
    const first = await finished(await create(5));
    expect(first.error).toBeNull();
    expect(first.status).toBe('succeeded');
    // The run seed became the training step's seed, stored in the recipe.
    expect(first.steps[0]!.params.seed).toBe(5);
    expect(first.provenance).toMatchObject({ seed: 5, workerThreads: 1, evaluationThreads: 1, calibrationSha256: null });
    expect(first.provenance!.recipeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect((first.provenance!.baseModel as { tokenizerSha256: string }).tokenizerSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof first.provenance!.codeVersion).toBe('string');
    expect(first.provenance!.ortVersion).toBe('1.30.0');

    const other = await finished(await create(6));
    expect(other.status).toBe('succeeded');
    const [curveA, curveB] = [await lossCurve(first.id), await lossCurve(other.id)];
    expect(curveA).toHaveLength(12);
    expect(curveB).not.toEqual(curveA);

    const rerunId = ok(await h.gql<{ reproduce: { id: string; status: string } }>(`mutation($id: ID!) { reproduce(runId: $id) { id status } }`, { id: first.id }, token)).reproduce.id;
    const pendingOrDone = ok(await h.gql<{ run: { reproduction: { verdict: string } } }>(`query($id: ID!) { run(id: $id) { reproduction { verdict } } }`, { id: rerunId }, token));
    expect(['pending', 'reproduced']).toContain(pendingOrDone.run.reproduction.verdict);
    const rerun = await finished(rerunId);
    expect(rerun.status).toBe('succeeded');
    expect(rerun.seed).toBe(5);
    expect(await lossCurve(rerunId)).toEqual(curveA);

    const REPRO = `query($id: ID!) { run(id: $id) { reproductionOf { id } reproduction { verdict sameThreads notes compared outside metrics { name step original rerun toleranceKind relativeTolerance reason withinTolerance } } } }`;
    type Repro = { run: { reproductionOf: { id: string }; reproduction: { verdict: string; sameThreads: boolean; notes: string[]; compared: number; outside: number; metrics: { name: string; step: number | null; original: number | null; rerun: number | null; toleranceKind: string; relativeTolerance: number | null; reason: string | null; withinTolerance: boolean | null }[] } } };
    const repro = ok(await h.gql<Repro>(REPRO, { id: rerunId }, token)).run;
    expect(repro.reproductionOf.id).toBe(first.id);
    const outside = repro.reproduction.metrics.filter((m) => m.withinTolerance === false);
    expect(outside, JSON.stringify(outside)).toEqual([]);
    expect(repro.reproduction).toMatchObject({ verdict: 'reproduced', sameThreads: true, notes: [], outside: 0 });
    expect(repro.reproduction.compared).toBeGreaterThan(20);
    const size = repro.reproduction.metrics.find((m) => m.name === 'size.bytes')!;
    expect(size).toMatchObject({ toleranceKind: 'exact', withinTolerance: true });
    expect(repro.reproduction.metrics.find((m) => m.name === 'perplexity')).toMatchObject({ toleranceKind: 'relative', relativeTolerance: 1e-6, withinTolerance: true });
    expect(repro.reproduction.metrics.find((m) => m.name === 'eval.tokensPerSecond')).toMatchObject({ toleranceKind: 'notCompared', withinTolerance: null });

    // A metric changed beyond its tolerance: the verdict says so and names it.
    await h.db.prisma.metric.updateMany({ where: { runId: rerunId, name: 'perplexity' }, data: { value: { multiply: 1.001 } } });
    const tampered = ok(await h.gql<Repro>(REPRO, { id: rerunId }, token)).run.reproduction;
    expect(tampered.verdict).toBe('differs');
    expect(tampered.metrics.filter((m) => m.withinTolerance === false).map((m) => m.name)).toEqual(['perplexity']);

    const reproductions = ok(await h.gql<{ run: { reproductions: { id: string }[] } }>(`query($id: ID!) { run(id: $id) { reproductions { id } } }`, { id: first.id }, token));
    expect(reproductions.run.reproductions.map((r) => r.id)).toEqual([rerunId]);
  });

  it('refuses to reproduce a run that did not succeed, and refuses other teams', async () => {
    const fresh = ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }`, { p: projectId, m: modelId, r: { steps: [{ technique: 'quantize.rtn-int8' }] } }, token)).createRun.id;
    const r = await h.gql(`mutation($id: ID!) { reproduce(runId: $id) { id } }`, { id: fresh }, token);
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toMatch(/^only a succeeded run can be reproduced \(this one is (queued|running)\)$/);
    ok(await h.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: fresh }, token));
    const outsider = await signUp(h, 'stranger');
    const succeeded = await h.db.prisma.run.findFirstOrThrow({ where: { projectId, status: 'succeeded' } });
    const denied = await h.gql(`mutation($id: ID!) { reproduce(runId: $id) { id } }`, { id: succeeded.id }, outsider.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
