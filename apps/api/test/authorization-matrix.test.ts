/**
 * The authorization matrix, generated from the running server's schema: every Query,
 * Mutation and Subscription field is called (over HTTP, subscriptions over graphql-ws) by
 * five callers (signed out, a member of another team, and the team's viewer, member and
 * owner) and must answer as its entry in EXPECTATIONS says; so must the REST routes. A
 * field without an entry fails the test, so a new resolver cannot skip authorization
 * unnoticed: add one line below for it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { emitRunEvent, transitionRun } from '@distillery/db';
import { freePort, startApiProcess, type Service } from '@distillery/services';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashToken, newToken } from '../src/tokens';
import { ok, signUp, startHarness, TEST_PASSWORD, tinyOnnxModel, uniqueEmail, upload, waitForImport, type Harness } from './harness';

const ACTORS = ['signedOut', 'otherTeam', 'viewer', 'member', 'owner'] as const;
type Actor = (typeof ACTORS)[number];
/** 'ok': answered without errors and with data; otherwise the expected error code. */
type Outcome = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN';
type Expectation = Record<Actor, Outcome>;

/** Anyone, signed in or not. */
const PUBLIC: Expectation = { signedOut: 'ok', otherTeam: 'ok', viewer: 'ok', member: 'ok', owner: 'ok' };
/** Any signed-in user, about themselves. */
const SIGNED_IN: Expectation = { signedOut: 'UNAUTHENTICATED', otherTeam: 'ok', viewer: 'ok', member: 'ok', owner: 'ok' };
/** The team's data, read. */
const READ: Expectation = { signedOut: 'UNAUTHENTICATED', otherTeam: 'FORBIDDEN', viewer: 'ok', member: 'ok', owner: 'ok' };
/** The team's data, changed. */
const WRITE: Expectation = { signedOut: 'UNAUTHENTICATED', otherTeam: 'FORBIDDEN', viewer: 'FORBIDDEN', member: 'ok', owner: 'ok' };
/** The team's members and invitations. */
const MANAGE: Expectation = { signedOut: 'UNAUTHENTICATED', otherTeam: 'FORBIDDEN', viewer: 'FORBIDDEN', member: 'FORBIDDEN', owner: 'ok' };
/** Something of the owner's own (a session, a token, an invitation to them): nobody else may touch it. */
const SELF_ONLY: Expectation = MANAGE;

interface Fixture {
  teamId: string;
  projectId: string;
  modelId: string;
  runId: string;
  modelSha256: string;
  importPath: string;
  users: Record<Exclude<Actor, 'signedOut'>, { userId: string; email: string; token: string }>;
}

interface Call {
  query: string;
  variables?: Record<string, unknown>;
  /** Overrides the caller's token (signOut needs a session of its own each time). */
  token?: string;
}

type CallBuilder = (f: Fixture, actor: Actor) => Call | Promise<Call>;

let h: Harness;
let f: Fixture;
/** Subscriptions are served by an API process of its own over the same database (graphql-ws needs the process's own graphql module). */
let subscriptionApi: { url: string; service: Service } | undefined;

async function subscriptionEndpoint(): Promise<string> {
  if (!subscriptionApi) {
    const port = await freePort();
    const env = { DATABASE_URL: h.db.url, ARTIFACTS_DIR: path.join(h.dir, 'artifacts'), MODEL_IMPORT_ROOT: h.api.config.importRoot, LOG_LEVEL: 'warn' };
    subscriptionApi = { url: `ws://127.0.0.1:${port}/graphql`, service: await startApiProcess({ port, env }) };
  }
  return subscriptionApi.url;
}

// Per-call state the owner makes (or the database holds), so each caller gets its own target.
/** A queued run marked finished through the run lifecycle (no worker executes runs here). */
async function succeededRun(): Promise<string> {
  const id = await queuedRun();
  await h.db.prisma.$transaction(async (tx) => {
    await transitionRun(tx, id, 'running', { status: ['queued'] }, { workerId: 'matrix' });
    await transitionRun(tx, id, 'succeeded', { status: ['running'] });
  });
  return id;
}

async function queuedRun(): Promise<string> {
  const r = ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: f.projectId, m: f.modelId }, f.users.owner.token));
  return r.createRun.id;
}
async function externalRun(): Promise<string> {
  const r = ok(await h.gql<{ createExternalRun: { id: string } }>(`mutation($p: ID!, $m: ID!) { createExternalRun(projectId: $p, baseModelId: $m, name: "nb") { id } }`, { p: f.projectId, m: f.modelId }, f.users.owner.token));
  return r.createExternalRun.id;
}
const SWEEP_MUTATION = `mutation($p: ID!, $m: ID!) { createSweep(projectId: $p, baseModelId: $m, name: "s", mode: grid, recipe: {steps: [{technique: "quantize.rtn"}]}, space: [{path: "steps[0].params.bits", values: [2, 4]}], maxRuns: 1, parallelism: 1) { id } }`;
async function ownerSweep(): Promise<string> {
  const r = ok(await h.gql<{ createSweep: { id: string } }>(SWEEP_MUTATION, { p: f.projectId, m: f.modelId }, f.users.owner.token));
  return r.createSweep.id;
}
async function extraMember(): Promise<string> {
  const user = await h.db.prisma.user.create({ data: { email: uniqueEmail('extra'), passwordHash: 'x' } });
  await h.db.prisma.membership.create({ data: { userId: user.id, teamId: f.teamId, role: 'member' } });
  return user.id;
}
async function ownerSession(): Promise<string> {
  const r = ok(await h.gql<{ signIn: { session: { id: string } } }>(`mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { session { id } } }`, { e: f.users.owner.email, p: TEST_PASSWORD }));
  return r.signIn.session.id;
}
async function freshSessionOf(actor: Actor): Promise<string | undefined> {
  if (actor === 'signedOut') return undefined;
  const r = ok(await h.gql<{ signIn: { token: string } }>(`mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }`, { e: f.users[actor].email, p: TEST_PASSWORD }));
  return r.signIn.token;
}
async function ownerApiToken(): Promise<string> {
  const t = newToken();
  const row = await h.db.prisma.apiToken.create({ data: { userId: f.users.owner.userId, teamId: f.teamId, name: 'matrix', tokenHash: hashToken(t.secret), prefix: t.prefix } });
  return row.id;
}
async function pendingInvitation(): Promise<string> {
  const inv = await h.db.prisma.invitation.create({ data: { teamId: f.teamId, email: uniqueEmail('pending'), role: 'viewer', expiresAt: new Date(Date.now() + 3600_000) } });
  return inv.id;
}
/** An invitation addressed to the owner, into a team of someone else's. */
async function invitationToOwner(): Promise<string> {
  const team = await h.db.prisma.team.create({ data: { name: 'Elsewhere', slug: `elsewhere-${randomUUID()}` } });
  const inv = await h.db.prisma.invitation.create({ data: { teamId: team.id, email: f.users.owner.email, role: 'member', expiresAt: new Date(Date.now() + 3600_000) } });
  return inv.id;
}

/** A team the actor may leave (another owner stays); callers outside the team get the fixture's. */
async function teamToLeave(actor: Actor): Promise<string> {
  if (actor === 'signedOut' || actor === 'otherTeam') return f.teamId;
  const team = await h.db.prisma.team.create({ data: { name: 'Leave', slug: `leave-${randomUUID()}` } });
  const keeper = await h.db.prisma.user.create({ data: { email: uniqueEmail('keeper'), passwordHash: 'x' } });
  await h.db.prisma.membership.createMany({
    data: [
      { userId: keeper.id, teamId: team.id, role: 'owner' },
      { userId: f.users[actor].userId, teamId: team.id, role: actor },
    ],
  });
  return team.id;
}

const q = (query: string, variables?: Record<string, unknown>): Call => ({ query, variables });

/** One entry per Query and Mutation field: who may call it, and a call that succeeds for those who may. */
const EXPECTATIONS: Record<string, { expect: Expectation; call: CallBuilder }> = {
  'Query.apiVersion': { expect: PUBLIC, call: () => q(`{ apiVersion }`) },
  'Query.viewer': { expect: SIGNED_IN, call: () => q(`{ viewer { id } }`) },
  'Query.apiTokens': { expect: SIGNED_IN, call: () => q(`{ apiTokens { id } }`) },
  'Query.sessions': { expect: SIGNED_IN, call: () => q(`{ sessions { id } }`) },
  'Query.teams': { expect: SIGNED_IN, call: () => q(`{ teams { id } }`) },
  'Query.team': { expect: READ, call: (f) => q(`query($id: ID!) { team(id: $id) { id } }`, { id: f.teamId }) },
  'Query.projects': { expect: READ, call: (f) => q(`query($t: ID!) { projects(teamId: $t) { id } }`, { t: f.teamId }) },
  'Query.project': { expect: READ, call: (f) => q(`query($id: ID!) { project(id: $id) { id } }`, { id: f.projectId }) },
  'Query.models': { expect: READ, call: (f) => q(`query($p: ID!) { models(projectId: $p) { id } }`, { p: f.projectId }) },
  'Query.model': { expect: READ, call: (f) => q(`query($id: ID!) { model(id: $id) { id } }`, { id: f.modelId }) },
  'Query.techniques': { expect: SIGNED_IN, call: () => q(`{ techniques { id } }`) },
  'Query.metricCatalogue': { expect: SIGNED_IN, call: () => q(`{ metricCatalogue { name } }`) },
  'Query.run': { expect: READ, call: (f) => q(`query($id: ID!) { run(id: $id) { id } }`, { id: f.runId }) },
  'Query.runs': { expect: READ, call: (f) => q(`query($p: ID!) { runs(projectId: $p) { edges { cursor } } }`, { p: f.projectId }) },
  'Query.invitations': { expect: SIGNED_IN, call: () => q(`{ invitations { id } }`) },
  'Query.compareRuns': { expect: READ, call: async (f) => q(`query($ids: [ID!]!) { compareRuns(ids: $ids) { runs { id } } }`, { ids: [f.runId, await queuedRun()] }) },
  'Query.pareto': { expect: READ, call: (f) => q(`query($p: ID!) { pareto(projectId: $p, x: "size.bytes", y: "perplexity") { missing } }`, { p: f.projectId }) },
  'Query.leaderboard': { expect: READ, call: (f) => q(`query($t: ID!) { leaderboard(metric: "perplexity", scope: TEAM, teamId: $t, suiteVersion: 1) { entries { rank } } }`, { t: f.teamId }) },
  'Query.lineage': { expect: READ, call: (f) => q(`query($m: ID!) { lineage(modelId: $m) { nodes { id } } }`, { m: f.modelId }) },
  'Query.recipeSettingsSchemas': { expect: SIGNED_IN, call: () => q(`{ recipeSettingsSchemas { eval } }`) },
  'Query.recipes': { expect: READ, call: (f) => q(`query($t: ID!) { recipes(teamId: $t) { id } }`, { t: f.teamId }) },
  'Query.sweep': { expect: READ, call: async () => q(`query($id: ID!) { sweep(id: $id) { id } }`, { id: await ownerSweep() }) },
  'Query.sweeps': { expect: READ, call: (f) => q(`query($p: ID!) { sweeps(projectId: $p) { id } }`, { p: f.projectId }) },
  'Query.teamMembers': { expect: READ, call: (f) => q(`query($t: ID!) { teamMembers(teamId: $t) { userId role } }`, { t: f.teamId }) },
  'Query.auditLog': { expect: MANAGE, call: (f) => q(`query($t: ID!) { auditLog(teamId: $t) { edges { node { action } } } }`, { t: f.teamId }) },
  'Query.teamInvitations': { expect: MANAGE, call: (f) => q(`query($t: ID!) { teamInvitations(teamId: $t) { id } }`, { t: f.teamId }) },

  'Mutation.signUp': { expect: PUBLIC, call: () => q(`mutation($e: String!) { signUp(email: $e, password: "correct horse battery") { message } }`, { e: uniqueEmail('matrix') }) },
  'Mutation.signIn': { expect: PUBLIC, call: (f) => q(`mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }`, { e: f.users.owner.email, p: TEST_PASSWORD }) },
  'Mutation.signOut': { expect: SIGNED_IN, call: async (_f, a) => ({ query: `mutation { signOut }`, token: await freshSessionOf(a) }) },
  'Mutation.revokeSession': { expect: SELF_ONLY, call: async () => q(`mutation($id: ID!) { revokeSession(id: $id) { id } }`, { id: await ownerSession() }) },
  'Mutation.createApiToken': { expect: READ, call: (f) => q(`mutation($t: ID!) { createApiToken(name: "matrix", teamId: $t) { token } }`, { t: f.teamId }) },
  'Mutation.revokeApiToken': { expect: SELF_ONLY, call: async () => q(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: await ownerApiToken() }) },
  'Mutation.createTeam': { expect: SIGNED_IN, call: () => q(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: `Matrix ${randomUUID()}` }) },
  'Mutation.setMemberRole': { expect: MANAGE, call: async (f) => q(`mutation($t: ID!, $u: ID!) { setMemberRole(teamId: $t, userId: $u, role: viewer) { role } }`, { t: f.teamId, u: await extraMember() }) },
  'Mutation.removeTeamMember': { expect: MANAGE, call: async (f) => q(`mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) }`, { t: f.teamId, u: await extraMember() }) },
  'Mutation.leaveTeam': { expect: READ, call: async (_f, a) => q(`mutation($t: ID!) { leaveTeam(teamId: $t) }`, { t: await teamToLeave(a) }) },
  'Mutation.createProject': { expect: WRITE, call: (f) => q(`mutation($t: ID!, $n: String!) { createProject(teamId: $t, name: $n) { id } }`, { t: f.teamId, n: `p-${randomUUID()}` }) },
  'Mutation.importModel': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "m", sha256: $s) { id } }`, { p: f.projectId, s: f.modelSha256 }) },
  'Mutation.importModelFromPath': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "m", path: $path) { id } }`, { p: f.projectId, path: f.importPath }) },
  'Mutation.createRun': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: f.projectId, m: f.modelId }) },
  'Mutation.cancelRun': { expect: WRITE, call: async () => q(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: await queuedRun() }) },
  'Mutation.reproduce': { expect: WRITE, call: async () => q(`mutation($id: ID!) { reproduce(runId: $id) { id } }`, { id: await succeededRun() }) },
  'Mutation.setRunTags': { expect: WRITE, call: (f) => q(`mutation($id: ID!) { setRunTags(runId: $id, tags: ["a"]) { tags } }`, { id: f.runId }) },
  'Mutation.setLeaderboardPublic': { expect: MANAGE, call: (f) => q(`mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: false) { id } }`, { t: f.teamId }) },
  'Mutation.createExternalRun': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $m: ID!) { createExternalRun(projectId: $p, baseModelId: $m, name: "nb") { id } }`, { p: f.projectId, m: f.modelId }) },
  'Mutation.finishExternalRun': { expect: WRITE, call: async () => q(`mutation($r: ID!) { finishExternalRun(runId: $r, status: succeeded) { status } }`, { r: await externalRun() }) },
  'Mutation.logMetrics': { expect: WRITE, call: async () => q(`mutation($r: ID!) { logMetrics(runId: $r, points: [{key: "k", name: "loss", value: 1}]) { accepted } }`, { r: await externalRun() }) },
  'Mutation.saveRecipe': { expect: WRITE, call: (f) => q(`mutation($t: ID!) { saveRecipe(teamId: $t, name: "r", recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { t: f.teamId }) },
  'Mutation.createSweep': { expect: WRITE, call: (f) => q(SWEEP_MUTATION, { p: f.projectId, m: f.modelId }) },
  'Mutation.cancelSweep': { expect: WRITE, call: async () => q(`mutation($id: ID!) { cancelSweep(id: $id) { status } }`, { id: await ownerSweep() }) },
  'Mutation.inviteMember': { expect: MANAGE, call: (f) => q(`mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e) { id } }`, { t: f.teamId, e: uniqueEmail('invited') }) },
  'Mutation.revokeInvitation': { expect: MANAGE, call: async () => q(`mutation($id: ID!) { revokeInvitation(id: $id) { status } }`, { id: await pendingInvitation() }) },
  'Mutation.acceptInvitation': { expect: SELF_ONLY, call: async () => q(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: await invitationToOwner() }) },
  'Mutation.declineInvitation': { expect: SELF_ONLY, call: async () => q(`mutation($id: ID!) { declineInvitation(id: $id) { status } }`, { id: await invitationToOwner() }) },
};

/** Subscriptions: who may subscribe, and the run or project whose events the test then sends. */
const SUBSCRIPTIONS: Record<string, { expect: Expectation; call: (f: Fixture) => Call }> = {
  'Subscription.runEvents': { expect: READ, call: (f) => q(`subscription($r: ID!) { runEvents(runId: $r) { kind } }`, { r: f.runId }) },
  'Subscription.projectRunEvents': { expect: READ, call: (f) => q(`subscription($p: ID!) { projectRunEvents(projectId: $p) { kind } }`, { p: f.projectId }) },
};

/**
 * Subscribe as `token` and report the first answer: 'ok' for an event, the error code for
 * an error, UNAUTHENTICATED when the connection is refused (close code 4403). Progress
 * events of the fixture's run are sent until something arrives, since the subscription
 * starts listening at a moment the client cannot observe.
 */
async function subscriptionOutcome(call: Call, token: string | undefined): Promise<string> {
  const client = createClient({ url: await subscriptionEndpoint(), webSocketImpl: WebSocket, connectionParams: token ? { token } : {}, retryAttempts: 0, lazy: true });
  let settled = false;
  try {
    const outcome = new Promise<string>((resolve) => {
      client.subscribe(
        { query: call.query, variables: call.variables },
        {
          next: (r) => resolve(r.errors?.length ? String(r.errors[0]!.extensions?.code) : 'ok'),
          error: (e) => {
            if (Array.isArray(e)) resolve(String((e[0] as { extensions?: { code?: unknown } })?.extensions?.code));
            else if ((e as { code?: number }).code === 4403) resolve('UNAUTHENTICATED');
            else resolve(`closed ${String((e as { code?: number }).code)} ${String((e as { reason?: string }).reason)}`);
          },
          complete: () => resolve('completed without data'),
        },
      );
    }).finally(() => {
      settled = true;
    });
    while (!settled) {
      await emitRunEvent(h.db.prisma, { kind: 'progress', runId: f.runId, projectId: f.projectId, progress: 0.5, message: null });
      await Promise.race([outcome, new Promise((r) => setTimeout(r, 100))]);
    }
    return await outcome;
  } finally {
    await client.dispose();
  }
}

/** REST routes: [name, expectation, request]. The answer's status maps to an outcome. */
const ROUTES: [string, Expectation, (f: Fixture) => { method: string; path: string; body?: Uint8Array }][] = [
  ['POST /upload', WRITE, (f) => ({ method: 'POST', path: `/upload?teamId=${f.teamId}`, body: tinyOnnxModel(3, 3) })],
  ['GET /models/:id/files', READ, (f) => ({ method: 'GET', path: `/models/${f.modelId}/files?path=onnx/model.onnx` })],
];

function routeOutcome(status: number): string {
  if (status >= 200 && status < 300) return 'ok';
  return status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'FORBIDDEN' : `HTTP ${status}`;
}

beforeAll(async () => {
  h = await startHarness();
  const owner = await signUp(h, 'owner');
  const viewer = await signUp(h, 'viewer');
  const member = await signUp(h, 'member');
  const outsider = await signUp(h, 'outsider');
  const teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Matrix") { id } }`, {}, owner.token)).createTeam.id;
  ok(await h.gql(`mutation { createTeam(name: "Outsiders") { id } }`, {}, outsider.token));
  for (const [u, role] of [[viewer, 'viewer'], [member, 'member']] as const) {
    const inv = ok(await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!, $r: Role!) { inviteMember(teamId: $t, email: $e, role: $r) { id } }`, { t: teamId, e: u.email, r: role }, owner.token));
    ok(await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: inv.inviteMember.id }, u.token));
  }
  const projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: teamId }, owner.token)).createProject.id;
  const up = await upload(h.api, tinyOnnxModel(), owner.token);
  const modelSha256 = String(up.body.sha256);
  const modelId = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: projectId, s: modelSha256 }, owner.token)).importModel.id;
  expect((await waitForImport(h, modelId, owner.token)).status).toBe('ready');
  await mkdir(h.api.config.importRoot, { recursive: true });
  await writeFile(path.join(h.api.config.importRoot, 'tiny.onnx'), tinyOnnxModel(2, 5));
  f = { teamId, projectId, modelId, runId: '', modelSha256, importPath: 'tiny.onnx', users: { owner, viewer, member, otherTeam: outsider } };
  f.runId = await queuedRun();
});
afterAll(async () => {
  await subscriptionApi?.service.stop();
  await h?.close();
});

type Fields = { fields: { name: string }[] };
async function rootFields(): Promise<string[]> {
  const r = ok(
    await h.gql<{ __schema: { queryType: Fields; mutationType: Fields; subscriptionType: Fields | null } }>(
      `{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }`,
    ),
  );
  const s = r.__schema;
  return [
    ...s.queryType.fields.map((x) => `Query.${x.name}`),
    ...s.mutationType.fields.map((x) => `Mutation.${x.name}`),
    ...(s.subscriptionType?.fields ?? []).map((x) => `Subscription.${x.name}`),
  ];
}

describe('authorization matrix', () => {
  it('has an expectation for every Query and Mutation field, and none for fields that do not exist', async () => {
    const fields = await rootFields();
    expect(fields.length).toBeGreaterThan(30);
    expect(fields.filter((x) => x.startsWith('Subscription.')).length).toBeGreaterThan(0);
    const known = { ...EXPECTATIONS, ...SUBSCRIPTIONS };
    const missing = fields.filter((x) => !(x in known)).map((x) => `add an authorization expectation for ${x}`);
    expect(missing).toEqual([]);
    const stale = Object.keys(known).filter((x) => !fields.includes(x)).map((x) => `remove the expectation for ${x}: no such field`);
    expect(stale).toEqual([]);
  });

  it('answers every field as expected for each kind of caller', async () => {
    const failures: string[] = [];
    for (const field of (await rootFields()).filter((x) => !x.startsWith('Subscription.'))) {
      const entry = EXPECTATIONS[field];
      if (!entry) continue; // reported by the test above
      const name = field.split('.')[1]!;
      for (const actor of ACTORS) {
        const call = await entry.call(f, actor);
        // The call must exercise the field it is filed under.
        const op = parse(call.query).definitions[0] as OperationDefinitionNode;
        const root = op.selectionSet.selections[0];
        if (root?.kind !== Kind.FIELD || root.name.value !== name) throw new Error(`the call for ${field} does not call ${name}`);
        const token = 'token' in call ? call.token : actor === 'signedOut' ? undefined : f.users[actor].token;
        const r = await h.gql<Record<string, unknown>>(call.query, call.variables, token);
        const got = r.errors?.length ? String(r.errors[0]!.extensions?.code) : r.data?.[name] !== undefined && r.data?.[name] !== null ? 'ok' : 'no data';
        const want = entry.expect[actor];
        if (got !== want) failures.push(`${field} as ${actor}: expected ${want}, got ${got}${r.errors?.length ? ` (${r.errors[0]!.message})` : ''}`);
        if (want !== 'ok' && r.data?.[name] != null) failures.push(`${field} as ${actor}: answered data despite ${want}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('lets each kind of caller subscribe as expected', async () => {
    const failures: string[] = [];
    for (const [field, entry] of Object.entries(SUBSCRIPTIONS)) {
      for (const actor of ACTORS) {
        const got = await subscriptionOutcome(entry.call(f), actor === 'signedOut' ? undefined : f.users[actor].token);
        if (got !== entry.expect[actor]) failures.push(`${field} as ${actor}: expected ${entry.expect[actor]}, got ${got}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('answers every REST route as expected for each kind of caller', async () => {
    const failures: string[] = [];
    for (const [route, want, build] of ROUTES) {
      for (const actor of ACTORS) {
        const r = build(f);
        const token = actor === 'signedOut' ? undefined : f.users[actor].token;
        const res = await fetch(`${h.api.url}${r.path}`, { method: r.method, body: r.body ? new Blob([new Uint8Array(r.body)]) : undefined, headers: token ? { authorization: `Bearer ${token}` } : {} });
        await res.arrayBuffer();
        const got = routeOutcome(res.status);
        if (got !== want[actor]) failures.push(`${route} as ${actor}: expected ${want[actor]}, got ${got}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
