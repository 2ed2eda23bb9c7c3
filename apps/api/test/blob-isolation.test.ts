/**
 * Tenant isolation of stored bytes over real HTTP and a real Postgres, with the real
 * import worker: uploads belong to a team, naming a hash grants nothing, a failed import
 * never deletes bytes another team uses, quotas, NaN weights, import status, and the
 * garbage collector racing real imports.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { collectGarbage } from '@distillery/db';
import { toTokenizerJson, trainBpe } from '@distillery/nn';
import { decodeModel, GraphBuilder, serializeModel, writeModel } from '@distillery/onnx';
import { startWorker } from '@distillery/workers';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBytes, ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const IMPORT = `mutation($p: ID!, $s: String!, $t: String) { importModel(projectId: $p, name: "m", sha256: $s, tokenizerSha256: $t) { id status } }`;

interface Member {
  token: string;
  email: string;
  teamId: string;
  projectId: string;
}

async function member(h: Harness, name: string): Promise<Member> {
  const u = await signUp(h, name);
  const t = ok(await h.gql<{ createTeam: { id: string } }>(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: `${name} ${Date.now()}` }, u.token));
  const p = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: t.createTeam.id }, u.token));
  return { token: u.token, email: u.email, teamId: t.createTeam.id, projectId: p.createProject.id };
}

function tokenizerBytes(text: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(toTokenizerJson(trainBpe([text], { vocabSize: 262 }))));
}

/** A model whose weight `model.layers.0.mlp.up_proj.weight` holds a NaN at element 4. */
function nanModel(): Uint8Array {
  const b = new GraphBuilder('nan');
  const x = b.input('x', 'float32', [1, 3]);
  const values = Float32Array.from([0.1, 0.2, 0.3, 0.4, Number.NaN, 0.6]);
  const w = b.initializer('model.layers.0.mlp.up_proj.weight', 'float32', [3, 2], values);
  b.output(b.op('MatMul', [x, w], {}, { name: '/model/layers.0/mlp/up_proj/MatMul', output: 'y' }), 'float32', [1, 2]);
  return serializeModel(b.toModel()).model;
}

let h: Harness;
let alice: Member;
let mallory: Member;

beforeAll(async () => {
  h = await startHarness();
  alice = await member(h, 'alice');
  mallory = await member(h, 'mallory');
});
afterAll(async () => {
  await h?.close();
});

describe('uploads belong to a team', () => {
  it('records the uploader and team; refuses teams the uploader cannot write to, like absent ones', async () => {
    const bytes = randomBytes(300);
    const up = await upload(h.api, bytes, alice.token, alice.teamId);
    expect(up.status).toBe(201);
    const row = await h.db.prisma.upload.findFirstOrThrow({ where: { sha256: sha(bytes) } });
    expect(row).toMatchObject({ teamId: alice.teamId, state: 'pending', bytes: 300n });
    expect(row.userId).not.toBeNull();

    const other = await upload(h.api, randomBytes(10), mallory.token, alice.teamId);
    const absent = await upload(h.api, randomBytes(10), mallory.token, '00000000-0000-4000-8000-000000000000');
    expect(other.status).toBe(403);
    expect(other.body).toEqual(absent.body);

    // A viewer of Alice's team may read, not upload.
    const vera = await signUp(h, 'vera');
    const invitation = ok(
      await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e, role: viewer) { id } }`, { t: alice.teamId, e: vera.email }, alice.token),
    );
    ok(await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: invitation.inviteMember.id }, vera.token));
    const viewer = await upload(h.api, randomBytes(10), vera.token, alice.teamId);
    expect(viewer.status).toBe(403);
    expect(JSON.stringify(viewer.body)).toMatch(/member role/);
  });

  it('asks which team when the uploader can write to several', async () => {
    const both = await signUp(h, 'both');
    for (const n of ['one', 'two']) ok(await h.gql(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: `${n} ${Date.now()}` }, both.token));
    const r = await upload(h.api, randomBytes(10), both.token);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/teamId=<team id>.*2 teams/);
  });
});

describe('naming a hash grants nothing', () => {
  it("refuses another team's model and tokenizer hashes with the same answer as hashes nobody stored", async () => {
    const model = tinyOnnxModel(5, 4);
    const tok = tokenizerBytes('private tokenizer of alice');
    const tokUp = await upload(h.api, tok, alice.token, alice.teamId);
    const aliceModel = await importBytes(h, alice.token, alice.teamId, alice.projectId, model);
    expect(aliceModel.status).toBe('ready');

    const steal = await h.gql(IMPORT, { p: mallory.projectId, s: sha(model) }, mallory.token);
    const nothing = await h.gql(IMPORT, { p: mallory.projectId, s: sha(randomBytes(64)) }, mallory.token);
    expect(steal.errors?.[0]).toEqual(nothing.errors?.[0]);
    expect(steal.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sha256' });

    const own = await upload(h.api, tinyOnnxModel(2, 2), mallory.token, mallory.teamId);
    const stealTok = await h.gql(IMPORT, { p: mallory.projectId, s: own.body.sha256, t: tokUp.body.sha256 }, mallory.token);
    const nothingTok = await h.gql(IMPORT, { p: mallory.projectId, s: own.body.sha256, t: sha(randomBytes(64)) }, mallory.token);
    expect(stealTok.errors?.[0]).toEqual(nothingTok.errors?.[0]);
    expect(stealTok.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tokenizerSha256' });
    expect(await h.db.prisma.model.count({ where: { teamId: mallory.teamId } })).toBe(0);

    // Alice may name her own model's bytes again without uploading them again.
    const again = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: alice.projectId, s: sha(model) }, alice.token));
    expect((await waitForImport(h, again.importModel.id, alice.token)).status).toBe('ready');
  });

  it("a failed import of bytes another team uses as a tokenizer deletes nothing of theirs", async () => {
    const tok = tokenizerBytes('the shared public tokenizer text');
    const tokUp = await upload(h.api, tok, alice.token, alice.teamId);
    const modelUp = await upload(h.api, tinyOnnxModel(3, 3), alice.token, alice.teamId);
    const m = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: alice.projectId, s: modelUp.body.sha256, t: tokUp.body.sha256 }, alice.token));
    expect((await waitForImport(h, m.importModel.id, alice.token)).status).toBe('ready');

    // Mallory uploads the same bytes (a public file) and imports them as a model: it fails.
    const same = await upload(h.api, tok, mallory.token, mallory.teamId);
    expect(same.body.sha256).toBe(tokUp.body.sha256);
    const bad = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: mallory.projectId, s: same.body.sha256 }, mallory.token));
    const failed = await waitForImport(h, bad.importModel.id, mallory.token);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/not a usable ONNX model/);
    // Mallory's upload is consumed; Alice's tokenizer bytes stay, intact.
    expect(await h.db.prisma.upload.count({ where: { teamId: mallory.teamId, sha256: sha(tok) } })).toBe(0);
    expect(await h.store.verify(sha(tok))).toBe(true);
    // And Alice can still import with that tokenizer (her model references it).
    const again = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: alice.projectId, s: modelUp.body.sha256, t: sha(tok) }, alice.token));
    expect((await waitForImport(h, again.importModel.id, alice.token)).status).toBe('ready');
  });
});

describe('import in the worker', () => {
  it('refuses a model with a NaN weight, naming the tensor and element', async () => {
    const m = await importBytes(h, alice.token, alice.teamId, alice.projectId, nanModel());
    expect(m.status).toBe('failed');
    expect(m.error).toBe('weight "model.layers.0.mlp.up_proj.weight" holds NaN at element 4; models with NaN or infinite weights are refused');
    expect(m.parameterCount).toBe(0);
  });

  it('imports a server-side model with external data: the worker stores it with its weights inline', async () => {
    const model = decodeModel(tinyOnnxModel(16, 8));
    const file = path.join(h.api.config.importRoot, 'external', 'model.onnx');
    await writeModel(model, file, { externalData: { threshold: 0 } });
    const stub = await readFile(file);
    const r = ok(
      await h.gql<{ importModelFromPath: { id: string; status: string } }>(
        `mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "ext", path: $path) { id status } }`,
        { p: alice.projectId, path: 'external/model.onnx' },
        alice.token,
      ),
    );
    expect(r.importModelFromPath.status).toBe('importing');
    const done = await waitForImport(h, r.importModelFromPath.id, alice.token);
    expect(done).toMatchObject({ status: 'ready', parameterCount: 128 });
    // The stored model is self-contained: it decodes with no folder beside it, to the same weights.
    expect(done.sha256).not.toBe(sha(stub));
    const stored = decodeModel(await readFile(h.store.path(done.sha256)));
    expect(Buffer.from(stored.graph.initializers[0]!.raw).equals(Buffer.from(model.graph.initializers[0]!.raw))).toBe(true);
  });

  it('moves importing -> ready only once a worker ran; runs on an importing model are refused', async () => {
    const cold = await startHarness({ importWorker: false });
    try {
      const bob = await member(cold, 'bob');
      const up = await upload(cold.api, tinyOnnxModel(4, 2), bob.token, bob.teamId);
      const m = ok(await cold.gql<{ importModel: { id: string; status: string } }>(IMPORT, { p: bob.projectId, s: up.body.sha256 }, bob.token));
      expect(m.importModel.status).toBe('importing');
      const run = await cold.gql(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: bob.projectId, m: m.importModel.id }, bob.token);
      expect(run.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseModelId' });
      expect(run.errors?.[0]?.message).toMatch(/still being imported/);
      const listed = ok(await cold.gql<{ models: { status: string; parameterCount: number }[] }>(`query($p: ID!) { models(projectId: $p) { status parameterCount } }`, { p: bob.projectId }, bob.token));
      expect(listed.models).toEqual([{ status: 'importing', parameterCount: 0 }]);
      const worker = await startWorker({ databaseUrl: cold.db.url, store: cold.store, log: pino({ level: 'silent' }), threads: 1, pollIntervalMs: 200, tasks: ['import-model'] });
      try {
        expect(await waitForImport(cold, m.importModel.id, bob.token)).toMatchObject({ status: 'ready', parameterCount: 8, error: null });
      } finally {
        await worker.stop();
      }
      ok(await cold.gql(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: bob.projectId, m: m.importModel.id }, bob.token));
    } finally {
      await cold.close();
    }
  });
});

describe('quotas', () => {
  it('refuses uploads past the team quota with QUOTA_EXCEEDED and the used/limit bytes; the same bytes count once', async () => {
    const q = await startHarness({ importWorker: false, config: { teamUploadQuotaBytes: 1000 } });
    try {
      const carol = await member(q, 'carol');
      const first = randomBytes(400);
      expect((await upload(q.api, first, carol.token, carol.teamId)).status).toBe(201);
      // Uploading the same bytes again costs nothing.
      expect((await upload(q.api, first, carol.token, carol.teamId)).status).toBe(201);
      expect(await q.db.prisma.upload.count({ where: { teamId: carol.teamId } })).toBe(1);
      expect((await upload(q.api, randomBytes(500), carol.token, carol.teamId)).status).toBe(201);
      const third = randomBytes(200);
      const over = await upload(q.api, third, carol.token, carol.teamId);
      expect(over.status).toBe(413);
      const err = (over.body.errors as { message: string; extensions: Record<string, unknown> }[])[0]!;
      expect(err.extensions).toEqual({ code: 'QUOTA_EXCEEDED', usedBytes: 900, incomingBytes: 200, limitBytes: 1000 });
      expect(err.message).toMatch(/900 bytes stored \+ 200 bytes in this upload > limit of 1000 bytes/);
      expect(await q.store.has(sha(third))).toBe(false);
      // Without a Content-Length the store stops at the limit: nothing is kept either.
      const chunked = await fetch(`${q.api.url}/upload?teamId=${carol.teamId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${carol.token}`, 'content-type': 'application/octet-stream' },
        body: new ReadableStream({ start(c) { c.enqueue(third); c.close(); } }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      const chunkedErr = ((await chunked.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] }).errors[0]!;
      expect(chunkedErr.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', usedBytes: 900, limitBytes: 1000 });
      expect(chunkedErr.message).toMatch(/more than 100 bytes in this upload/);
      expect(await q.store.has(sha(third))).toBe(false);
      expect(await q.db.prisma.upload.count({ where: { teamId: carol.teamId } })).toBe(2);
      // Another team has its own quota.
      const dave = await member(q, 'dave');
      expect((await upload(q.api, third, dave.token, dave.teamId)).status).toBe(201);
    } finally {
      await q.close();
    }
  });
});

describe('garbage collection', () => {
  const HOUR = 3_600_000;
  const old = new Date(Date.now() - 48 * HOUR);

  async function age(sha256: string): Promise<void> {
    await utimes(h.store.path(sha256), old, old);
  }

  it('deletes unreferenced blobs and expired uploads, keeps every kind of reference', async () => {
    const orphan = await h.store.put(randomBytes(100)); // an output of a failed attempt
    const expiredUp = await upload(h.api, randomBytes(120), alice.token, alice.teamId);
    const freshUp = await upload(h.api, randomBytes(130), alice.token, alice.teamId);
    const tok = tokenizerBytes('gc tokenizer text');
    const tokUp = await upload(h.api, tok, alice.token, alice.teamId);
    const modelUp = await upload(h.api, tinyOnnxModel(6, 2), alice.token, alice.teamId);
    const m = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: alice.projectId, s: modelUp.body.sha256, t: tokUp.body.sha256 }, alice.token));
    expect((await waitForImport(h, m.importModel.id, alice.token)).status).toBe('ready');
    const artifactBytes = await h.store.put(randomBytes(90));
    const run = ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: alice.projectId, m: m.importModel.id }, alice.token));
    await h.db.prisma.artifact.create({ data: { teamId: alice.teamId, runId: run.createRun.id, kind: 'report', sha256: artifactBytes.sha256, bytes: BigInt(artifactBytes.bytes), storagePath: artifactBytes.path } });
    await h.db.prisma.upload.updateMany({ where: { sha256: expiredUp.body.sha256 as string }, data: { createdAt: old } });
    // The tokenizer's upload row goes too: only the model's tokenizer reference still holds it.
    await h.db.prisma.upload.deleteMany({ where: { sha256: sha(tok) } });
    for (const s of [orphan.sha256, expiredUp.body.sha256, freshUp.body.sha256, sha(tok), modelUp.body.sha256, artifactBytes.sha256] as string[]) await age(s);
    const young = await h.store.put(randomBytes(80)); // unreferenced but inside the grace period

    const r = await collectGarbage(h.db.prisma, h.store, { graceMs: HOUR, uploadGraceMs: 24 * HOUR });
    expect(r.expiredUploads).toBe(1);
    expect(r.deletedBlobs).toEqual(expect.arrayContaining([orphan.sha256, expiredUp.body.sha256]));
    for (const gone of [orphan.sha256, expiredUp.body.sha256] as string[]) expect(await h.store.has(gone), gone).toBe(false);
    for (const kept of [freshUp.body.sha256, sha(tok), modelUp.body.sha256, artifactBytes.sha256, young.sha256] as string[]) {
      expect(await h.store.verify(kept), kept).toBe(true);
    }
    expect(r.deletedBytes).toBeGreaterThanOrEqual(220);
    // Running again finds nothing more to delete.
    const again = await collectGarbage(h.db.prisma, h.store, { graceMs: HOUR, uploadGraceMs: 24 * HOUR });
    expect(again.deletedBlobs.filter((s) => [freshUp.body.sha256, sha(tok), modelUp.body.sha256, artifactBytes.sha256, young.sha256].includes(s))).toEqual([]);
  });

  it('never leaves an import pointing at deleted bytes when it races the collector', async () => {
    let imported = 0;
    let collected = 0;
    for (let i = 0; i < 8; i++) {
      const bytes = tinyOnnxModel(3 + i, 2);
      const up = await upload(h.api, bytes, alice.token, alice.teamId);
      // An upload past its grace period: the collector wants it, the user imports it now.
      await h.db.prisma.upload.updateMany({ where: { sha256: up.body.sha256 as string }, data: { createdAt: old } });
      await age(up.body.sha256 as string);
      const [answer] = await Promise.all([
        h.gql<{ importModel: { id: string } }>(IMPORT, { p: alice.projectId, s: up.body.sha256 }, alice.token),
        collectGarbage(h.db.prisma, h.store, { graceMs: HOUR, uploadGraceMs: 24 * HOUR }),
      ]);
      if (answer.errors) {
        // The collector won: the upload was gone, and the answer says so; no model row.
        expect(answer.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sha256' });
        expect(await h.store.has(up.body.sha256 as string)).toBe(false);
        collected++;
      } else {
        // The import won: its model holds the bytes, and the import completes.
        expect(await h.store.verify(up.body.sha256 as string)).toBe(true);
        expect((await waitForImport(h, answer.data!.importModel.id, alice.token)).status).toBe('ready');
        imported++;
      }
    }
    expect(imported + collected).toBe(8);
    const live = await h.db.prisma.model.findMany({ where: { teamId: alice.teamId, status: { in: ['importing', 'ready'] } } });
    for (const m of live) expect(await h.store.has(m.sha256), m.id).toBe(true);
  });
});
