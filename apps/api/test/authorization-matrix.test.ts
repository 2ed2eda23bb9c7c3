/**
 * The authorization matrix, generated from the running server's schema: every Query and
 * Mutation field is called over HTTP by five callers (signed out, a member of another
 * team, and the team's viewer, member and owner) and must answer as its entry in
 * EXPECTATIONS says. A field without an entry fails the test, so a new resolver cannot
 * skip authorization unnoticed: add one line below for it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// Per-call state the owner makes (or the database holds), so each caller gets its own target.
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
  const row = await h.db.prisma.apiToken.create({ data: { userId: f.users.owner.userId, name: 'matrix', tokenHash: hashToken(t.secret), prefix: t.prefix } });
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
  'Query.recipes': { expect: READ, call: (f) => q(`query($t: ID!) { recipes(teamId: $t) { id } }`, { t: f.teamId }) },
  'Query.sweep': { expect: READ, call: async () => q(`query($id: ID!) { sweep(id: $id) { id } }`, { id: await ownerSweep() }) },
  'Query.sweeps': { expect: READ, call: (f) => q(`query($p: ID!) { sweeps(projectId: $p) { id } }`, { p: f.projectId }) },
  'Query.teamInvitations': { expect: MANAGE, call: (f) => q(`query($t: ID!) { teamInvitations(teamId: $t) { id } }`, { t: f.teamId }) },

  'Mutation.signUp': { expect: PUBLIC, call: () => q(`mutation($e: String!) { signUp(email: $e, password: "correct horse battery") { message } }`, { e: uniqueEmail('matrix') }) },
  'Mutation.signIn': { expect: PUBLIC, call: (f) => q(`mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }`, { e: f.users.owner.email, p: TEST_PASSWORD }) },
  'Mutation.signOut': { expect: SIGNED_IN, call: async (_f, a) => ({ query: `mutation { signOut }`, token: await freshSessionOf(a) }) },
  'Mutation.revokeSession': { expect: SELF_ONLY, call: async () => q(`mutation($id: ID!) { revokeSession(id: $id) { id } }`, { id: await ownerSession() }) },
  'Mutation.createApiToken': { expect: SIGNED_IN, call: () => q(`mutation { createApiToken(name: "matrix") { token } }`) },
  'Mutation.revokeApiToken': { expect: SELF_ONLY, call: async () => q(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: await ownerApiToken() }) },
  'Mutation.createTeam': { expect: SIGNED_IN, call: () => q(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: `Matrix ${randomUUID()}` }) },
  'Mutation.setMemberRole': { expect: MANAGE, call: async (f) => q(`mutation($t: ID!, $u: ID!) { setMemberRole(teamId: $t, userId: $u, role: viewer) { role } }`, { t: f.teamId, u: await extraMember() }) },
  'Mutation.removeTeamMember': { expect: MANAGE, call: async (f) => q(`mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) }`, { t: f.teamId, u: await extraMember() }) },
  'Mutation.createProject': { expect: WRITE, call: (f) => q(`mutation($t: ID!, $n: String!) { createProject(teamId: $t, name: $n) { id } }`, { t: f.teamId, n: `p-${randomUUID()}` }) },
  'Mutation.importModel': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "m", sha256: $s) { id } }`, { p: f.projectId, s: f.modelSha256 }) },
  'Mutation.importModelFromPath': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "m", path: $path) { id } }`, { p: f.projectId, path: f.importPath }) },
  'Mutation.createRun': { expect: WRITE, call: (f) => q(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: f.projectId, m: f.modelId }) },
  'Mutation.cancelRun': { expect: WRITE, call: async () => q(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: await queuedRun() }) },
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
  await h?.close();
});

async function rootFields(): Promise<string[]> {
  const r = ok(await h.gql<{ __schema: { queryType: { fields: { name: string }[] }; mutationType: { fields: { name: string }[] } } }>(`{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`));
  return [...r.__schema.queryType.fields.map((x) => `Query.${x.name}`), ...r.__schema.mutationType.fields.map((x) => `Mutation.${x.name}`)];
}

describe('authorization matrix', () => {
  it('has an expectation for every Query and Mutation field, and none for fields that do not exist', async () => {
    const fields = await rootFields();
    expect(fields.length).toBeGreaterThan(30);
    const missing = fields.filter((x) => !(x in EXPECTATIONS)).map((x) => `add an authorization expectation for ${x}`);
    expect(missing).toEqual([]);
    const stale = Object.keys(EXPECTATIONS).filter((x) => !fields.includes(x)).map((x) => `remove the expectation for ${x}: no such field`);
    expect(stale).toEqual([]);
  });

  it('answers every field as expected for each kind of caller', async () => {
    const failures: string[] = [];
    for (const field of await rootFields()) {
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
});
