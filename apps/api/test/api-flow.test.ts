import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { toTokenizerJson, trainBpe } from '@distillery/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const CREATE_RUN = `mutation($projectId: ID!, $baseModelId: ID!, $recipe: JSON!, $seed: Int) {
  createRun(projectId: $projectId, baseModelId: $baseModelId, recipe: $recipe, seed: $seed) {
    id status seed recipe steps { index techniqueId params status }
  }
}`;

/** Files in the artifact store other than its temp folder. */
async function storedBlobs(): Promise<string[]> {
  const entries = await readdir(h.store.root, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && !e.parentPath.endsWith('tmp')).map((e) => e.name);
}

describe('the API end to end', () => {
  let token: string;
  let teamId: string;
  let projectId: string;
  let modelId: string;

  it('signs up, signs in, and issues, lists and revokes API tokens', async () => {
    const email = `alice-${Date.now()}@example.com`;
    const up = ok(await h.gql<{ signUp: { message: string } }>(`mutation($e: String!) { signUp(email: $e, password: "correct horse battery") { message } }`, { e: email.toUpperCase() }));
    expect(up.signUp.message).toMatch(/sign in/);
    const user = await h.db.prisma.user.findUniqueOrThrow({ where: { email } });

    const wrong = await h.gql(`mutation($e: String!) { signIn(email: $e, password: "wrong password!!") { token } }`, { e: email });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const nobody = await h.gql(`mutation { signIn(email: "nobody@example.com", password: "whatever1234") { token } }`);
    expect(nobody.errors?.[0]?.message).toBe(wrong.errors?.[0]?.message);

    const signIn = ok(
      await h.gql<{ signIn: { token: string; user: { id: string }; session: { id: string } } }>(
        `mutation($e: String!) { signIn(email: $e, password: "correct horse battery") { token user { id } session { id } } }`,
        { e: email },
      ),
    );
    expect(signIn.signIn.user.id).toBe(user.id);
    // Only the hash is stored; the secret is not recoverable from the row.
    const row = await h.db.prisma.session.findUniqueOrThrow({ where: { id: signIn.signIn.session.id } });
    expect(row.tokenHash).toBe(createHash('sha256').update(signIn.signIn.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(signIn.signIn.token);

    // Teams are made with a sign-in; a token then acts in one of them.
    teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Compression Lab") { id } }`, {}, signIn.signIn.token)).createTeam.id;
    const created = ok(
      await h.gql<{ createApiToken: { token: string; apiToken: { id: string; prefix: string; teamId: string } } }>(
        `mutation($t: ID!) { createApiToken(name: "ci", teamId: $t) { token apiToken { id prefix teamId } } }`,
        { t: teamId },
        signIn.signIn.token,
      ),
    );
    expect(created.createApiToken.apiToken.teamId).toBe(teamId);
    token = created.createApiToken.token;
    expect(token.startsWith(created.createApiToken.apiToken.prefix)).toBe(true);
    const list = ok(await h.gql<{ apiTokens: { name: string; prefix: string }[] }>(`{ apiTokens { name prefix } }`, {}, token));
    expect(list.apiTokens.map((t) => t.name)).toEqual(['ci']);

    // Sign out of the session; it stops working, the API token keeps working.
    ok(await h.gql(`mutation { signOut }`, {}, signIn.signIn.token));
    const after = await h.gql(`{ viewer { email } }`, {}, signIn.signIn.token);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const still = ok(await h.gql<{ viewer: { email: string } }>(`{ viewer { email } }`, {}, token));
    expect(still.viewer.email).toBe(email);
    // A revoked API token stops too.
    const spare = ok(await h.gql<{ createApiToken: { token: string; apiToken: { id: string } } }>(`mutation($t: ID!) { createApiToken(name: "spare", teamId: $t) { token apiToken { id } } }`, { t: teamId }, token));
    ok(await h.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: spare.createApiToken.apiToken.id }, token));
    const revoked = await h.gql(`{ viewer { email } }`, {}, spare.createApiToken.token);
    expect(revoked.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects anonymous and bad tokens with UNAUTHENTICATED', async () => {
    const anon = await h.gql(`{ teams { id } }`);
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const bad = await h.gql(`{ teams { id } }`, {}, 'dst_not-a-real-token');
    expect(bad.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('creates a team and a project', async () => {
    const refused = await h.gql(`mutation { createTeam(name: "Through a token") { id } }`, {}, token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const t = ok(await h.gql<{ team: { id: string; slug: string; viewerRole: string } }>(`query($id: ID!) { team(id: $id) { id slug viewerRole } }`, { id: teamId }, token));
    expect(t.team.slug).toBe('compression-lab');
    expect(t.team.viewerRole).toBe('owner');
    const p = ok(
      await h.gql<{ createProject: { id: string; team: { id: string } } }>(
        `mutation($t: ID!) { createProject(teamId: $t, name: "llama-int8") { id team { id } } }`,
        { t: teamId },
        token,
      ),
    );
    projectId = p.createProject.id;
    expect(p.createProject.team.id).toBe(teamId);
    const dup = await h.gql(`mutation($t: ID!) { createProject(teamId: $t, name: "llama-int8") { id } }`, { t: teamId }, token);
    expect(dup.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  });

  it('uploads a real ONNX model and imports it in the worker: importing, then ready with its parameter count', async () => {
    const bytes = tinyOnnxModel(4, 3);
    const anon = await upload(h.api, bytes);
    expect(anon.status).toBe(401);
    const up = await upload(h.api, bytes, token, teamId);
    expect(up.status).toBe(201);
    expect(up.body).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength, teamId });
    expect(await h.store.verify(up.body.sha256 as string)).toBe(true);
    const uploadRow = await h.db.prisma.upload.findFirstOrThrow({ where: { teamId, sha256: up.body.sha256 as string } });
    expect(uploadRow).toMatchObject({ state: 'pending', bytes: BigInt(bytes.byteLength) });

    const m = ok(
      await h.gql<{ importModel: { id: string; sha256: string; bytes: number; parameterCount: number; format: string; status: string; project: { id: string } } }>(
        `mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "tiny", sha256: $s) { id sha256 bytes parameterCount format status project { id } } }`,
        { p: projectId, s: up.body.sha256 },
        token,
      ),
    );
    expect(m.importModel).toMatchObject({ sha256: up.body.sha256, bytes: bytes.byteLength, format: 'onnx', status: 'importing', project: { id: projectId } });
    modelId = m.importModel.id;
    const done = await waitForImport(h, modelId, token);
    expect(done).toMatchObject({ status: 'ready', error: null, parameterCount: 12 });
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: modelId } });
    expect(row.parameterCount).toBe(12n);
    expect(row.storagePath).toBe(h.store.path(row.sha256));
    expect((await h.db.prisma.upload.findFirstOrThrow({ where: { teamId, sha256: row.sha256 } })).state).toBe('imported');
  });

  it('lists the techniques with the JSON Schema of their parameters', async () => {
    const r = ok(await h.gql<{ techniques: { id: string; family: string; paramsSchema: { type: string; properties: Record<string, unknown> } }[] }>(`{ techniques { id family paramsSchema } }`, {}, token));
    const rtn = r.techniques.find((t) => t.id === 'quantize.rtn-int8');
    expect(rtn?.family).toBe('quantize');
    expect(rtn?.paramsSchema.type).toBe('object');
    expect(Object.keys(rtn?.paramsSchema.properties ?? {})).toEqual(expect.arrayContaining(['skip', 'minSize']));
    expect(r.techniques.map((t) => t.id)).toEqual([...r.techniques.map((t) => t.id)].sort());
  });

  it('links an uploaded tokenizer.json to the model, and fails an import whose tokenizer is not one', async () => {
    const tok = trainBpe(['the whale and the sea, the ship and the crew'], { vocabSize: 270 });
    const tokUp = await upload(h.api, new TextEncoder().encode(JSON.stringify(toTokenizerJson(tok))), token, teamId);
    const modelUp = await upload(h.api, tinyOnnxModel(4, 3), token, teamId);
    const q = `mutation($p: ID!, $s: String!, $t: String) { importModel(projectId: $p, name: "with-tok", sha256: $s, tokenizerSha256: $t) { id config tokenizer { kind sha256 bytes } } }`;
    const m = ok(
      await h.gql<{ importModel: { id: string; config: unknown; tokenizer: { kind: string; sha256: string; bytes: number } } }>(q, { p: projectId, s: modelUp.body.sha256, t: tokUp.body.sha256 }, token),
    );
    // The tokenizer is a referenced artifact row, not a hash inside the config.
    expect(m.importModel.tokenizer).toEqual({ kind: 'tokenizer', sha256: tokUp.body.sha256, bytes: tokUp.body.bytes });
    expect(m.importModel.config).toBeNull();
    expect((await waitForImport(h, m.importModel.id, token)).status).toBe('ready');

    const notTok = await upload(h.api, new TextEncoder().encode('{"model": {"type": "WordPiece"}}'), token, teamId);
    const bad = ok(await h.gql<{ importModel: { id: string } }>(q, { p: projectId, s: modelUp.body.sha256, t: notTok.body.sha256 }, token));
    const failed = await waitForImport(h, bad.importModel.id, token);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^tokenizerSha256: not a usable tokenizer\.json/);
    // The model bytes are still used by the ready import above: the failure deleted nothing.
    expect(await h.store.has(modelUp.body.sha256 as string)).toBe(true);
    const missing = await h.gql(q, { p: projectId, s: modelUp.body.sha256, t: 'a'.repeat(64) }, token);
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tokenizerSha256' });
  });

  it('fails a malformed model naming the problem, and keeps none of its bytes', async () => {
    const before = await storedBlobs();
    const junk = new TextEncoder().encode('this is definitely not an onnx protobuf, just text bytes');
    const up = await upload(h.api, junk, token, teamId);
    expect(up.status).toBe(201);
    const r = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "junk", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, token));
    const failed = await waitForImport(h, r.importModel.id, token);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/not a usable ONNX model: not an ONNX model/);
    expect(await h.store.has(up.body.sha256 as string)).toBe(false);
    expect(await h.db.prisma.upload.count({ where: { sha256: up.body.sha256 as string } })).toBe(0);
    expect(await storedBlobs()).toEqual(before);
    // A run on the failed model is refused with the reason.
    const run = await h.gql(CREATE_RUN, { projectId, baseModelId: r.importModel.id, recipe: { steps: [{ technique: 'quantize.rtn-int8' }] } }, token);
    expect(run.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseModelId' });
    expect(run.errors?.[0]?.message).toMatch(/failed to import \(not a usable ONNX model/);

    // A protobuf that decodes but whose graph is broken: a truncated valid model.
    const truncated = tinyOnnxModel(4, 3).subarray(0, 60);
    const up2 = await upload(h.api, truncated, token, teamId);
    const r2 = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "cut", sha256: $s) { id } }`, { p: projectId, s: up2.body.sha256 }, token));
    expect((await waitForImport(h, r2.importModel.id, token)).status).toBe('failed');
    expect(await h.store.has(up2.body.sha256 as string)).toBe(false);
  });

  it('creates a run: Run, RunSteps and a graphile-worker job, with defaults filled in', async () => {
    const r = ok(
      await h.gql<{ createRun: { id: string; status: string; seed: number; recipe: unknown; steps: { index: number; techniqueId: string; params: Record<string, unknown>; status: string }[] } }>(
        CREATE_RUN,
        { projectId, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.rtn-int8', params: {} }] }, seed: 7 },
        token,
      ),
    );
    expect(r.createRun.status).toBe('queued');
    expect(r.createRun.seed).toBe(7);
    expect(r.createRun.steps).toHaveLength(1);
    expect(r.createRun.steps[0]).toMatchObject({ index: 0, techniqueId: 'quantize.rtn-int8', status: 'queued' });
    expect(r.createRun.steps[0]!.params).toHaveProperty('minSize', 0);

    const jobs = await h.db.prisma.$queryRaw<{ task_identifier: string; payload: { runId: string }; max_attempts: number }[]>`
      SELECT j.task_identifier, p.payload, j.max_attempts
      FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p ON p.id = j.id
      WHERE j.key = ${r.createRun.id}`;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ task_identifier: 'execute-run', payload: { runId: r.createRun.id }, max_attempts: 3 });

    const fetched = ok(
      await h.gql<{ run: { status: string; baseModel: { id: string }; steps: unknown[]; metrics: unknown[]; artifacts: unknown[]; outputModel: null; progress: number } }>(
        `query($id: ID!) { run(id: $id) { status progress baseModel { id } steps { id } metrics { name value } artifacts { id } outputModel { id } } }`,
        { id: r.createRun.id },
        token,
      ),
    );
    expect(fetched.run).toMatchObject({ status: 'queued', progress: 0, baseModel: { id: modelId }, metrics: [], artifacts: [], outputModel: null });
    expect(fetched.run.steps).toHaveLength(1);
  });

  it('reports metrics: latest value per name, and a series in step order', async () => {
    const run = ok(await h.gql<{ createRun: { id: string } }>(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.rtn-int8' }] } }, token));
    const runId = run.createRun.id;
    // Metrics are written by workers; insert them as a worker would.
    for (const [step, value] of [[1, 5.0], [2, 4.0], [3, 3.5]] as const) {
      await h.db.prisma.metric.create({ data: { runId, name: 'loss', value, step } });
    }
    await h.db.prisma.metric.create({ data: { runId, name: 'ppl', value: 12.5 } });
    const r = ok(
      await h.gql<{ run: { metrics: { name: string; value: number }[]; metricSeries: { step: number; value: number }[] } }>(
        `query($id: ID!) { run(id: $id) { metrics { name value } metricSeries(name: "loss") { step value } } }`,
        { id: runId },
        token,
      ),
    );
    expect(r.run.metrics).toEqual([{ name: 'loss', value: 3.5 }, { name: 'ppl', value: 12.5 }]);
    expect(r.run.metricSeries).toEqual([{ step: 1, value: 5 }, { step: 2, value: 4 }, { step: 3, value: 3.5 }]);
  });

  it('rejects a bad recipe parameter naming the field, and creates nothing', async () => {
    const runsBefore = await h.db.prisma.run.count();
    const r = await h.gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.rtn-int8', params: { minSize: -1 } }] } }, token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps[0].params.minSize' });
    const unknown = await h.gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.nope' }] } }, token);
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps[0].technique' });
    const empty = await h.gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [] } }, token);
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps' });
    expect(await h.db.prisma.run.count()).toBe(runsBefore);
  });

  it('cancels a queued run and removes its job', async () => {
    const run = ok(await h.gql<{ createRun: { id: string } }>(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.rtn-int8' }] } }, token));
    const id = run.createRun.id;
    const c = ok(await h.gql<{ cancelRun: { status: string; steps: { status: string }[] } }>(`mutation($id: ID!) { cancelRun(id: $id) { status steps { status } } }`, { id }, token));
    expect(c.cancelRun.status).toBe('canceled');
    expect(c.cancelRun.steps.map((s) => s.status)).toEqual(['canceled']);
    const jobs = await h.db.prisma.$queryRaw<unknown[]>`SELECT id FROM graphile_worker.jobs WHERE key = ${id}`;
    expect(jobs).toHaveLength(0);
    const again = await h.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id }, token);
    expect(again.errors).toBeUndefined();
    await h.db.prisma.run.update({ where: { id }, data: { status: 'succeeded' } });
    const done = await h.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id }, token);
    expect(done.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('paginates runs: every run exactly once across pages, filters apply', async () => {
    for (let i = 0; i < 5; i++) {
      ok(await h.gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.rtn-int8' }] }, seed: i }, token));
    }
    const all = await h.db.prisma.run.findMany({ where: { projectId }, select: { id: true } });
    expect(all.length).toBeGreaterThanOrEqual(8);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: { runs: { edges: { cursor: string; node: { id: string; createdAt: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = ok(
        await h.gql(
          `query($p: ID!, $after: String) { runs(projectId: $p, first: 3, after: $after) { edges { cursor node { id createdAt } } pageInfo { hasNextPage endCursor } } }`,
          { p: projectId, after },
          token,
        ),
      );
      pages++;
      seen.push(...page.runs.edges.map((e) => e.node.id));
      expect(page.runs.edges.length).toBeLessThanOrEqual(3);
      if (!page.runs.pageInfo.hasNextPage) break;
      after = page.runs.pageInfo.endCursor;
    }
    expect(pages).toBe(Math.ceil(all.length / 3));
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(all.map((r) => r.id).sort());

    // The run canceled earlier was then marked succeeded by hand.
    const succeeded = ok(await h.gql<{ runs: { edges: { node: { status: string } }[] } }>(`query($p: ID!) { runs(projectId: $p, filter: { status: succeeded }) { edges { node { status } } } }`, { p: projectId }, token));
    expect(succeeded.runs.edges.map((e) => e.node.status)).toEqual(['succeeded']);
    const byModel = ok(await h.gql<{ runs: { edges: unknown[] } }>(`query($p: ID!, $m: ID!) { runs(projectId: $p, first: 100, filter: { baseModelId: $m }) { edges { cursor } } }`, { p: projectId, m: modelId }, token));
    expect(byModel.runs.edges).toHaveLength(all.length);
    const queued = ok(await h.gql<{ runs: { edges: { node: { status: string } }[] } }>(`query($p: ID!) { runs(projectId: $p, first: 100, filter: { status: queued }) { edges { node { status } } } }`, { p: projectId }, token));
    expect(queued.runs.edges.length).toBe(all.length - 1);
    expect(new Set(queued.runs.edges.map((e) => e.node.status))).toEqual(new Set(['queued']));

    const future = ok(await h.gql<{ runs: { edges: unknown[] } }>(`query($p: ID!) { runs(projectId: $p, filter: { createdAfter: "2999-01-01T00:00:00Z" }) { edges { cursor } } }`, { p: projectId }, token));
    expect(future.runs.edges).toEqual([]);
    const badCursor = await h.gql(`query($p: ID!) { runs(projectId: $p, after: "garbage") { edges { cursor } } }`, { p: projectId }, token);
    expect(badCursor.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it("another team's user gets FORBIDDEN, identical to a nonexistent id", async () => {
    const mallory = await signUp(h, 'mallory');
    const runId = (await h.db.prisma.run.findFirstOrThrow({ where: { projectId } })).id;
    const probes: [string, Record<string, unknown>][] = [
      [`query($id: ID!) { team(id: $id) { name } }`, { id: teamId }],
      [`query($id: ID!) { project(id: $id) { name } }`, { id: projectId }],
      [`query($id: ID!) { model(id: $id) { name } }`, { id: modelId }],
      [`query($id: ID!) { run(id: $id) { status } }`, { id: runId }],
      [`query($id: ID!) { runs(projectId: $id) { edges { cursor } } }`, { id: projectId }],
      [`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runId }],
      [`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: projectId, m: modelId }],
    ];
    for (const [q, v] of probes) {
      const r = await h.gql(q, v, mallory.token);
      expect(r.errors?.[0]?.extensions?.code, q).toBe('FORBIDDEN');
      expect(r.data ?? null).toBeNull();
    }
    const missing = await h.gql(`query($id: ID!) { run(id: $id) { status } }`, { id: '00000000-0000-4000-8000-000000000000' }, mallory.token);
    expect(missing.errors?.[0]).toMatchObject({ message: (await h.gql(probes[3]![0], probes[3]![1], mallory.token)).errors?.[0]?.message });

    // Mallory's own team cannot use Alice's model as a base either.
    const mt = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Mallory Inc") { id } }`, {}, mallory.token));
    const mp = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: mt.createTeam.id }, mallory.token));
    const steal = await h.gql(CREATE_RUN, { projectId: mp.createProject.id, baseModelId: modelId, recipe: { steps: [{ technique: 'quantize.rtn-int8' }] } }, mallory.token);
    expect(steal.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseModelId' });
  });

  it('enforces roles: viewers read only, members create runs, only owners manage members', async () => {
    const vera = await signUp(h, 'vera');
    const mike = await signUp(h, 'mike');
    const invite = `mutation($t: ID!, $e: String!, $r: Role!) { inviteMember(teamId: $t, email: $e, role: $r) { id } }`;
    const accept = `mutation($id: ID!) { acceptInvitation(id: $id) { role } }`;
    const iv = ok(await h.gql<{ inviteMember: { id: string } }>(invite, { t: teamId, e: vera.email, r: 'viewer' }, token));
    const im = ok(await h.gql<{ inviteMember: { id: string } }>(invite, { t: teamId, e: mike.email, r: 'member' }, token));
    ok(await h.gql(accept, { id: iv.inviteMember.id }, vera.token));
    ok(await h.gql(accept, { id: im.inviteMember.id }, mike.token));
    const recipe = { steps: [{ technique: 'quantize.rtn-int8' }] };

    const read = ok(await h.gql<{ project: { name: string } }>(`query($id: ID!) { project(id: $id) { name } }`, { id: projectId }, vera.token));
    expect(read.project.name).toBe('llama-int8');
    const vRun = await h.gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe }, vera.token);
    expect(vRun.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const mRun = await h.gql(CREATE_RUN, { projectId, baseModelId: modelId, recipe }, mike.token);
    expect(mRun.errors).toBeUndefined();
    const setRole = `mutation($t: ID!, $u: ID!, $r: Role!) { setMemberRole(teamId: $t, userId: $u, role: $r) { role } }`;
    const mSet = await h.gql(setRole, { t: teamId, u: vera.userId, r: 'owner' }, mike.token);
    expect(mSet.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The last owner cannot demote themselves.
    const me = ok(await h.gql<{ viewer: { id: string } }>(`{ viewer { id } }`, {}, token));
    const demote = await h.gql(setRole, { t: teamId, u: me.viewer.id, r: 'member' }, token);
    expect(demote.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const members = ok(await h.gql<{ team: { members: { role: string }[] } }>(`query($t: ID!) { team(id: $t) { members { role } } }`, { t: teamId }, vera.token));
    expect(members.team.members.map((m) => m.role).sort()).toEqual(['member', 'owner', 'viewer']);
  });

  it('imports from the server-side import root and refuses escapes', async () => {
    const { mkdir, writeFile, symlink } = await import('node:fs/promises');
    const path = await import('node:path');
    const root = h.api.config.importRoot;
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'tiny.onnx'), tinyOnnxModel(2, 5));
    await writeFile(path.join(h.dir, 'outside.onnx'), tinyOnnxModel(2, 5));
    await symlink(path.join(h.dir, 'outside.onnx'), path.join(root, 'link.onnx'));

    const q = `mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "srv", path: $path) { id status sha256 } }`;
    const good = ok(await h.gql<{ importModelFromPath: { id: string; status: string; sha256: string } }>(q, { p: projectId, path: 'tiny.onnx' }, token));
    expect(good.importModelFromPath.status).toBe('importing');
    expect(await waitForImport(h, good.importModelFromPath.id, token)).toMatchObject({ status: 'ready', parameterCount: 10 });
    expect(await h.store.has(good.importModelFromPath.sha256)).toBe(true);

    // A Hugging Face style folder: onnx/model.onnx with tokenizer.json one level up.
    const tok = trainBpe(['call me ishmael, some years ago'], { vocabSize: 265 });
    await mkdir(path.join(root, 'folder', 'onnx'), { recursive: true });
    await writeFile(path.join(root, 'folder', 'onnx', 'model.onnx'), tinyOnnxModel(3, 2));
    await writeFile(path.join(root, 'folder', 'tokenizer.json'), JSON.stringify(toTokenizerJson(tok)));
    const qc = `mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "folder", path: $path) { id tokenizer { sha256 } } }`;
    const withTok = ok(await h.gql<{ importModelFromPath: { id: string; tokenizer: { sha256: string } } }>(qc, { p: projectId, path: 'folder/onnx/model.onnx' }, token));
    expect((await waitForImport(h, withTok.importModelFromPath.id, token)).status).toBe('ready');
    expect(await h.store.has(withTok.importModelFromPath.tokenizer.sha256)).toBe(true);
    for (const bad of ['../outside.onnx', path.join(h.dir, 'outside.onnx'), 'link.onnx', '/etc/passwd', 'missing.onnx']) {
      const r = await h.gql(q, { p: projectId, path: bad }, token);
      expect(r.errors?.[0]?.extensions, bad).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
    }
  });
});
