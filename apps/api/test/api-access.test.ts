/**
 * Team access over real HTTP against a real Postgres: membership management, team-scoped
 * API tokens, the audit log and request rate limits (shared by two API servers).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { freePort, startApiProcess } from '@distillery/services';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { LocalArtifactStore } from '@distillery/artifacts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type RunningApi } from '../src/index';
import { gql, ok, signUp, startHarness, TEST_PASSWORD, tinyOnnxModel, upload, type GqlResult, type Harness } from './harness';

let h: Harness;
const code = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code;

async function team(token: string, name: string): Promise<string> {
  return ok(await h.gql<{ createTeam: { id: string } }>(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: `${name} ${Date.now()}-${Math.random()}` }, token)).createTeam.id;
}
async function join(teamId: string, ownerToken: string, user: { email: string; token: string }, role: 'owner' | 'member' | 'viewer'): Promise<void> {
  const inv = ok(await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!, $r: Role!) { inviteMember(teamId: $t, email: $e, role: $r) { id } }`, { t: teamId, e: user.email, r: role }, ownerToken));
  ok(await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: inv.inviteMember.id }, user.token));
}
async function apiToken(session: string, teamId: string, expiresAt?: string): Promise<{ token: string; id: string }> {
  const r = ok(
    await h.gql<{ createApiToken: { token: string; apiToken: { id: string } } }>(
      `mutation($t: ID!, $x: DateTime) { createApiToken(name: "nb", teamId: $t, expiresAt: $x) { token apiToken { id } } }`,
      { t: teamId, x: expiresAt ?? null },
      session,
    ),
  );
  return { token: r.createApiToken.token, id: r.createApiToken.apiToken.id };
}
const PROJECT = `mutation($t: ID!, $n: String!) { createProject(teamId: $t, name: $n) { id } }`;

beforeAll(async () => {
  h = await startHarness({ importWorker: false });
});
afterAll(async () => {
  await h?.close();
});

describe('team membership', () => {
  it('lists members, changes roles and removes members (owner only), and keeps the last owner', async () => {
    const owner = await signUp(h, 'owner');
    const member = await signUp(h, 'member');
    const viewer = await signUp(h, 'viewer');
    const t = await team(owner.token, 'Members');
    await join(t, owner.token, member, 'member');
    await join(t, owner.token, viewer, 'viewer');

    const listed = ok(await h.gql<{ teamMembers: { userId: string; role: string }[] }>(`query($t: ID!) { teamMembers(teamId: $t) { userId role } }`, { t }, viewer.token));
    expect(listed.teamMembers).toEqual([
      { userId: owner.userId, role: 'owner' },
      { userId: member.userId, role: 'member' },
      { userId: viewer.userId, role: 'viewer' },
    ]);

    const SET = `mutation($t: ID!, $u: ID!, $r: Role!) { setMemberRole(teamId: $t, userId: $u, role: $r) { role } }`;
    expect(code(await h.gql(SET, { t, u: viewer.userId, r: 'member' }, member.token))).toBe('FORBIDDEN');
    expect(ok(await h.gql<{ setMemberRole: { role: string } }>(SET, { t, u: viewer.userId, r: 'member' }, owner.token)).setMemberRole.role).toBe('member');
    // The sole owner can neither demote nor remove themselves, nor leave.
    const demote = await h.gql(SET, { t, u: owner.userId, r: 'member' }, owner.token);
    expect(code(demote)).toBe('CONFLICT');
    expect(demote.errors?.[0]?.message).toMatch(/at least one owner/);
    expect(code(await h.gql(`mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) }`, { t, u: owner.userId }, owner.token))).toBe('CONFLICT');
    expect(code(await h.gql(`mutation($t: ID!) { leaveTeam(teamId: $t) }`, { t }, owner.token))).toBe('CONFLICT');
    // With a second owner, the first may step down.
    ok(await h.gql(SET, { t, u: member.userId, r: 'owner' }, owner.token));
    expect(ok(await h.gql<{ setMemberRole: { role: string } }>(SET, { t, u: owner.userId, r: 'viewer' }, owner.token)).setMemberRole.role).toBe('viewer');
    expect(code(await h.gql(SET, { t, u: member.userId, r: 'viewer' }, owner.token))).toBe('FORBIDDEN');

    // Removing a member ends their access and their tokens in the team.
    const tok = await apiToken(viewer.token, t);
    expect(code(await h.gql(`mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) }`, { t, u: viewer.userId }, viewer.token))).toBe('FORBIDDEN');
    expect(ok(await h.gql<{ removeTeamMember: boolean }>(`mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) }`, { t, u: viewer.userId }, member.token)).removeTeamMember).toBe(true);
    expect(code(await h.gql(`query($t: ID!) { team(id: $t) { id } }`, { t }, viewer.token))).toBe('FORBIDDEN');
    expect(code(await h.gql(`{ viewer { id } }`, {}, tok.token))).toBe('UNAUTHENTICATED');
    const again = await h.gql(`mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) }`, { t, u: viewer.userId }, member.token);
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
  });

  it('lets any member leave; the team then treats them as a stranger', async () => {
    const owner = await signUp(h, 'owner');
    const member = await signUp(h, 'leaver');
    const t = await team(owner.token, 'Leaving');
    await join(t, owner.token, member, 'member');
    expect(ok(await h.gql<{ leaveTeam: boolean }>(`mutation($t: ID!) { leaveTeam(teamId: $t) }`, { t }, member.token)).leaveTeam).toBe(true);
    expect(code(await h.gql(PROJECT, { t, n: 'after' }, member.token))).toBe('FORBIDDEN');
    expect(code(await h.gql(`mutation($t: ID!) { leaveTeam(teamId: $t) }`, { t }, member.token))).toBe('FORBIDDEN');
    const members = ok(await h.gql<{ teamMembers: { userId: string }[] }>(`query($t: ID!) { teamMembers(teamId: $t) { userId } }`, { t }, owner.token)).teamMembers;
    expect(members.map((m) => m.userId)).toEqual([owner.userId]);
  });
});

describe('API tokens', () => {
  it('act only in their team, whatever other teams the user belongs to', async () => {
    const u = await signUp(h, 'twoteams');
    const a = await team(u.token, 'A');
    const b = await team(u.token, 'B');
    const tok = await apiToken(u.token, a);
    // The user reaches B with the session; the token does not.
    ok(await h.gql(PROJECT, { t: b, n: 'by session' }, u.token));
    ok(await h.gql(PROJECT, { t: a, n: 'by token' }, tok.token));
    const refused = await h.gql(PROJECT, { t: b, n: 'by token' }, tok.token);
    expect(code(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toBe('not found or not allowed');
    expect(ok(await h.gql<{ teams: { id: string }[] }>(`{ teams { id } }`, {}, tok.token)).teams.map((x) => x.id)).toEqual([a]);
    expect(ok(await h.gql<{ viewer: { memberships: { team: { id: string } }[] } }>(`{ viewer { memberships { team { id } } } }`, {}, tok.token)).viewer.memberships.map((m) => m.team.id)).toEqual([a]);
    // Nor can it mint a token for B, create a team, or upload into B.
    expect(code(await h.gql(`mutation($t: ID!) { createApiToken(name: "x", teamId: $t) { token } }`, { t: b }, tok.token))).toBe('FORBIDDEN');
    const createTeam = await h.gql(`mutation { createTeam(name: "Through a token") { id } }`, {}, tok.token);
    expect(code(createTeam)).toBe('FORBIDDEN');
    expect(createTeam.errors?.[0]?.message).toMatch(/signed-in session/);
    expect((await upload(h.api, tinyOnnxModel(), tok.token, b)).status).toBe(403);
    // Without a team named, an upload goes to the token's team, although the user can write to two.
    const up = await upload(h.api, tinyOnnxModel(), tok.token);
    expect(up.status).toBe(201);
    expect(up.body.teamId).toBe(a);
    expect((await upload(h.api, tinyOnnxModel(), u.token)).status).toBe(400);
  });

  it('carry the role of their user: a viewer token reads and cannot write', async () => {
    const owner = await signUp(h, 'owner');
    const viewer = await signUp(h, 'viewer');
    const t = await team(owner.token, 'Roles');
    await join(t, owner.token, viewer, 'viewer');
    const tok = await apiToken(viewer.token, t);
    ok(await h.gql(`query($t: ID!) { projects(teamId: $t) { id } }`, { t }, tok.token));
    expect(code(await h.gql(PROJECT, { t, n: 'x' }, tok.token))).toBe('FORBIDDEN');
  });

  it('are shown once, stored hashed, listed with their last use, expire and can be revoked', async () => {
    const u = await signUp(h, 'tokens');
    const t = await team(u.token, 'Tokens');
    const tok = await apiToken(u.token, t);
    const row = await h.db.prisma.apiToken.findUniqueOrThrow({ where: { id: tok.id } });
    expect(JSON.stringify(row)).not.toContain(tok.token);
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.lastUsedAt).toBeNull();
    ok(await h.gql(`{ viewer { id } }`, {}, tok.token));
    const listed = ok(await h.gql<{ apiTokens: { id: string; teamId: string; lastUsedAt: string | null; expiresAt: string | null }[] }>(`{ apiTokens { id teamId lastUsedAt expiresAt } }`, {}, u.token)).apiTokens;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ id: tok.id, teamId: t, expiresAt: null });
    expect(listed[0]!.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(tok.token);

    // Expiry: in the past is refused; once passed, the token stops.
    const past = await h.gql(`mutation($t: ID!) { createApiToken(name: "old", teamId: $t, expiresAt: "2020-01-01T00:00:00Z") { token } }`, { t }, u.token);
    expect(past.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    const soon = await apiToken(u.token, t, new Date(Date.now() + 3600_000).toISOString());
    ok(await h.gql(`{ viewer { id } }`, {}, soon.token));
    await h.db.prisma.apiToken.update({ where: { id: soon.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(code(await h.gql(`{ viewer { id } }`, {}, soon.token))).toBe('UNAUTHENTICATED');

    // Revoked: stops at once; someone else cannot revoke it.
    const other = await signUp(h, 'other');
    expect(code(await h.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: tok.id }, other.token))).toBe('FORBIDDEN');
    ok(await h.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, { id: tok.id }, u.token));
    expect(code(await h.gql(`{ viewer { id } }`, {}, tok.token))).toBe('UNAUTHENTICATED');
  });

  it('needs membership in the team it is for', async () => {
    const owner = await signUp(h, 'owner');
    const stranger = await signUp(h, 'stranger');
    const t = await team(owner.token, 'Closed');
    expect(code(await h.gql(`mutation($t: ID!) { createApiToken(name: "x", teamId: $t) { token } }`, { t }, stranger.token))).toBe('FORBIDDEN');
    expect(code(await h.gql(`mutation($t: ID!) { createApiToken(name: "x", teamId: $t) { token } }`, { t }))).toBe('UNAUTHENTICATED');
  });
});

interface AuditNode {
  action: string;
  outcome: string;
  actorUserId: string | null;
  credentialKind: string | null;
  credentialId: string | null;
  targetIds: string[];
  address: string | null;
  teamId: string | null;
}
const AUDIT = `query($t: ID!, $f: AuditFilter, $n: Int, $a: String) { auditLog(teamId: $t, filter: $f, first: $n, after: $a) {
  edges { cursor node { action outcome actorUserId credentialKind credentialId targetIds address teamId } } pageInfo { hasNextPage endCursor } } }`;
type AuditPage = { auditLog: { edges: { node: AuditNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describe('audit log', () => {
  it('records every mutation with actor, team, targets and address; owners read it, filtered and paged', async () => {
    const owner = await signUp(h, 'owner');
    const member = await signUp(h, 'member');
    const t = await team(owner.token, 'Audited');
    await join(t, owner.token, member, 'member');
    const tok = await apiToken(member.token, t);
    const project = ok(await h.gql<{ createProject: { id: string } }>(PROJECT, { t, n: 'audited' }, tok.token)).createProject.id;
    // A refused attempt by a member is recorded too.
    expect(code(await h.gql(`mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: true) { id } }`, { t }, member.token))).toBe('FORBIDDEN');

    const all = ok(await h.gql<AuditPage>(AUDIT, { t }, owner.token)).auditLog.edges.map((e) => e.node);
    expect(all.map((e) => e.action)).toEqual(['setLeaderboardPublic', 'createProject', 'createApiToken', 'acceptInvitation', 'inviteMember', 'createTeam']);
    const created = all.find((e) => e.action === 'createProject')!;
    expect(created).toMatchObject({ outcome: 'ok', actorUserId: member.userId, credentialKind: 'apiToken', credentialId: tok.id, teamId: t });
    expect(created.targetIds).toEqual(expect.arrayContaining([t, project]));
    expect(created.address).toMatch(/127\.0\.0\.1/);
    expect(all[0]).toMatchObject({ action: 'setLeaderboardPublic', outcome: 'FORBIDDEN', actorUserId: member.userId, credentialKind: 'session' });
    expect(all.find((e) => e.action === 'createTeam')).toMatchObject({ actorUserId: owner.userId, outcome: 'ok' });

    // No secret reaches the log.
    const rows = await h.db.prisma.auditEvent.findMany({ where: { teamId: t } });
    expect(JSON.stringify(rows)).not.toContain(tok.token);

    // Filters and keyset pages.
    const byAction = ok(await h.gql<AuditPage>(AUDIT, { t, f: { action: 'createProject' } }, owner.token)).auditLog.edges;
    expect(byAction).toHaveLength(1);
    const byTarget = ok(await h.gql<AuditPage>(AUDIT, { t, f: { targetId: project } }, owner.token)).auditLog.edges.map((e) => e.node.action);
    expect(byTarget).toEqual(['createProject']);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: AuditPage = ok(await h.gql<AuditPage>(AUDIT, { t, n: 4, a: after }, owner.token));
      seen.push(...page.auditLog.edges.map((e) => e.node.action));
      if (!page.auditLog.pageInfo.hasNextPage) break;
      after = page.auditLog.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((e) => e.action));

    // Owners only.
    expect(code(await h.gql(AUDIT, { t }, member.token))).toBe('FORBIDDEN');
    expect(code(await h.gql(AUDIT, { t }, tok.token))).toBe('FORBIDDEN');
  });

  it('records sign-in failures and successes without the password', async () => {
    const u = await signUp(h, 'signin');
    const wrongPassword = 'wrong password 123';
    expect(code(await h.gql(`mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }`, { e: u.email, p: wrongPassword }))).toBe('UNAUTHENTICATED');
    const good = ok(await h.gql<{ signIn: { token: string; session: { id: string } } }>(`mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token session { id } } }`, { e: u.email, p: TEST_PASSWORD }));
    const rows = await h.db.prisma.auditEvent.findMany({ where: { action: 'signIn', teamId: null }, orderBy: { createdAt: 'asc' } });
    expect(rows.some((r) => r.outcome === 'UNAUTHENTICATED' && r.actorUserId === null && r.address !== null)).toBe(true);
    expect(rows.find((r) => r.credentialId === good.signIn.session.id)).toMatchObject({ outcome: 'ok', actorUserId: u.userId, credentialKind: 'session' });
    const text = JSON.stringify(await h.db.prisma.auditEvent.findMany());
    expect(text).not.toContain(wrongPassword);
    expect(text).not.toContain(TEST_PASSWORD);
    expect(text).not.toContain(good.signIn.token);
  });
});

describe('rate limits', () => {
  let second: RunningApi;
  let limited: Harness;
  beforeAll(async () => {
    const rateLimits = { windowSeconds: 3600, perToken: 5, perAddress: 11 };
    limited = await startHarness({ importWorker: false, config: { rateLimits } });
    // A second API server over the same database: the counters are shared.
    second = await createApi({
      prisma: limited.db.prisma,
      store: new LocalArtifactStore(`${limited.dir}/artifacts`),
      databaseUrl: limited.db.url,
      port: 0,
      production: false,
      logger: pino({ level: 'silent' }),
      env: {},
      config: { rateLimits, importRoot: `${limited.dir}/imports` },
    });
  });
  afterAll(async () => {
    await second?.close();
    await limited?.close();
  });

  it('limits each token across API processes with RATE_LIMITED and Retry-After, then the address', async () => {
    // Sign-up and sign-in: 2 requests of the address.
    const u = await signUp(limited, 'limited');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const url = i % 2 === 0 ? limited.api.graphqlUrl : second.graphqlUrl;
      statuses.push((await gql(url, `{ viewer { id } }`, {}, u.token)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const res = await fetch(second.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${u.token}` }, body: JSON.stringify({ query: '{ viewer { id } }' }) });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string; retryAfterSeconds: number } }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: retryAfter });
    expect(body.errors[0]!.message).toMatch(/this token/);
    // REST routes too.
    const up = await fetch(`${limited.api.url}/upload`, { method: 'POST', headers: { authorization: `Bearer ${u.token}` }, body: new Blob([new Uint8Array(tinyOnnxModel())]) });
    expect(up.status).toBe(429);
    expect(Number(up.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await up.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');

    // Refused requests count too: 9 from this address so far, 11 after another sign-up; the 12th is refused whatever the token.
    const other = await signUp(limited, 'other');
    const refused = await gql(limited.api.graphqlUrl, `{ viewer { id } }`, {}, other.token);
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.message).toMatch(/this address/);
  });

  it('closes a subscription connection over the token limit with 4429', async () => {
    // graphql-ws needs the API in a process of its own (one graphql module).
    const port = await freePort();
    const env = { DATABASE_URL: limited.db.url, ARTIFACTS_DIR: path.join(limited.dir, 'artifacts'), MODEL_IMPORT_ROOT: path.join(limited.dir, 'imports'), LOG_LEVEL: 'warn', RATE_LIMIT_PER_TOKEN: '2', RATE_LIMIT_PER_ADDRESS: '0' };
    const service = await startApiProcess({ port, env });
    try {
      const base = `http://127.0.0.1:${port}`;
      const email = `ws-${randomUUID()}@example.com`;
      ok(await gql(`${base}/graphql`, `mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { message } }`, { e: email, p: TEST_PASSWORD }));
      const token = ok(await gql<{ signIn: { token: string } }>(`${base}/graphql`, `mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }`, { e: email, p: TEST_PASSWORD })).signIn.token;
      const closes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, connectionParams: { token }, retryAttempts: 0, lazy: true });
        const answer = await new Promise<string>((resolve) =>
          client.subscribe(
            { query: `subscription($r: ID!) { runEvents(runId: $r) { kind } }`, variables: { r: randomUUID() } },
            {
              next: (r) => resolve(r.errors?.length ? String(r.errors[0]!.extensions?.code) : 'event'),
              error: (e) => resolve(Array.isArray(e) ? String((e[0] as { extensions?: { code?: unknown } }).extensions?.code) : `${(e as { code?: number }).code} ${(e as { reason?: string }).reason}`),
              complete: () => resolve('complete'),
            },
          ),
        );
        closes.push(answer);
        await client.dispose();
      }
      // Two connections are let in (their subscriptions refused for the unknown run); the third is closed.
      expect(closes.slice(0, 2)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
      expect(closes[2]).toMatch(/^4429 rate limit of 2 requests per 60 s for this token reached; retry in \d+ s$/);
    } finally {
      await service.stop();
    }
  }, 120_000);
});
