/**
 * Sessions, sign-in lock-out, sign-up and invitations without an email oracle, error
 * hygiene and security headers: all over real HTTP against a real API and Postgres.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseInputProblem } from '../src/database-input-errors';
import { backoffSeconds } from '../src/sign-in-throttle';
import { gql, ok, signUp, startHarness, TEST_PASSWORD, tinyOnnxModel, uniqueEmail, upload, type GqlResult, type Harness } from './harness';

const LIMITS = { freeFailuresPerAccount: 3, freeFailuresPerAddress: 5, backoffBaseSeconds: 30, backoffMaxSeconds: 600, failureWindowSeconds: 3600 };
const logLines: string[] = [];
let h: Harness;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  h = await startHarness({ logger: pino({ level: 'info' }, sink), config: { signInLimits: LIMITS } });
});
afterAll(async () => {
  await h?.close();
});

const SIGN_IN = `mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token session { id } } }`;
const SIGN_UP = `mutation($e: String!, $p: String!, $n: String) { signUp(email: $e, password: $p, name: $n) { message } }`;

/** A sign-in from a given client address (the API trusts X-Forwarded-For from loopback, as from the dashboard). */
function signInFrom(address: string, email: string, password: string, userAgent = 'vitest') {
  return gql<{ signIn: { token: string; session: { id: string } } }>(h.api.graphqlUrl, SIGN_IN, { e: email, p: password }, undefined, {
    'x-forwarded-for': address,
    'user-agent': userAgent,
  });
}

const code = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code;

async function newUser(name: string): Promise<{ email: string; userId: string }> {
  const email = uniqueEmail(name);
  ok(await h.gql(SIGN_UP, { e: email, p: TEST_PASSWORD }));
  const user = await h.db.prisma.user.findUniqueOrThrow({ where: { email } });
  return { email, userId: user.id };
}

let addressCounter = 0;
/** A fresh documentation-range address per test, so address counters never interfere. */
const freshAddress = () => `198.51.100.${++addressCounter}`;

describe('sessions', () => {
  it('signIn creates a session that signOut ends on the server', async () => {
    const { email } = await newUser('sess');
    const address = freshAddress();
    const a = ok(await signInFrom(address, email, TEST_PASSWORD, 'Browser A'));
    const b = ok(await signInFrom(address, email, TEST_PASSWORD, 'Browser B'));
    const listed = ok(await h.gql<{ sessions: { id: string; userAgent: string; address: string; current: boolean; expiresAt: string }[] }>(`{ sessions { id userAgent address current expiresAt } }`, {}, a.signIn.token));
    expect(listed.sessions.map((s) => s.userAgent).sort()).toEqual(['Browser A', 'Browser B']);
    expect(listed.sessions.find((s) => s.current)?.id).toBe(a.signIn.session.id);
    expect(listed.sessions.every((s) => s.address === address)).toBe(true);
    expect(new Date(listed.sessions[0]!.expiresAt).getTime()).toBeGreaterThan(Date.now());

    expect(ok(await h.gql<{ signOut: boolean }>(`mutation { signOut }`, {}, a.signIn.token)).signOut).toBe(true);
    const after = await h.gql(`{ viewer { email } }`, {}, a.signIn.token);
    expect(code(after)).toBe('UNAUTHENTICATED');
    expect((await h.db.prisma.session.findUniqueOrThrow({ where: { id: a.signIn.session.id } })).revokedAt).not.toBeNull();
    // The other session is untouched and no longer lists the ended one.
    const rest = ok(await h.gql<{ sessions: { id: string }[] }>(`{ sessions { id } }`, {}, b.signIn.token));
    expect(rest.sessions.map((s) => s.id)).toEqual([b.signIn.session.id]);
    // Uploads refuse the ended session too.
    expect((await upload(h.api, tinyOnnxModel(), a.signIn.token)).status).toBe(401);
  });

  it('revokeSession ends one of your sessions and no one else can end it', async () => {
    const { email } = await newUser('revoke');
    const address = freshAddress();
    const a = ok(await signInFrom(address, email, TEST_PASSWORD));
    const b = ok(await signInFrom(address, email, TEST_PASSWORD));
    const mallory = await signUp(h, 'mallory');
    const q = `mutation($id: ID!) { revokeSession(id: $id) { id revokedAt } }`;
    const stolen = await h.gql(q, { id: b.signIn.session.id }, mallory.token);
    expect(code(stolen)).toBe('FORBIDDEN');
    expect(ok(await h.gql(`{ viewer { email } }`, {}, b.signIn.token))).toBeTruthy();
    const r = ok(await h.gql<{ revokeSession: { id: string; revokedAt: string | null } }>(q, { id: b.signIn.session.id }, a.signIn.token));
    expect(r.revokeSession.revokedAt).not.toBeNull();
    expect(code(await h.gql(`{ viewer { email } }`, {}, b.signIn.token))).toBe('UNAUTHENTICATED');
    expect(ok(await h.gql(`{ viewer { email } }`, {}, a.signIn.token))).toBeTruthy();
  });

  it('expires sessions after the idle limit and at the absolute limit', async () => {
    const { email } = await newUser('expiry');
    const address = freshAddress();
    const { idleSeconds, maxAgeSeconds } = h.api.config.sessions;
    const idle = ok(await signInFrom(address, email, TEST_PASSWORD));
    const old = ok(await signInFrom(address, email, TEST_PASSWORD));
    const fresh = ok(await signInFrom(address, email, TEST_PASSWORD));
    const before = ok(await h.gql<{ sessions: { id: string }[] }>(`{ sessions { id } }`, {}, fresh.signIn.token));
    expect(before.sessions).toHaveLength(3);
    // Unused for just over the idle limit; used recently but signed in before the absolute limit.
    const ago = (s: number) => new Date(Date.now() - s * 1000);
    await h.db.prisma.session.update({ where: { id: idle.signIn.session.id }, data: { lastSeenAt: ago(idleSeconds + 5) } });
    await h.db.prisma.session.update({ where: { id: old.signIn.session.id }, data: { createdAt: ago(maxAgeSeconds + 5), expiresAt: ago(5) } });
    expect(code(await h.gql(`{ viewer { email } }`, {}, idle.signIn.token))).toBe('UNAUTHENTICATED');
    expect(code(await h.gql(`{ viewer { email } }`, {}, old.signIn.token))).toBe('UNAUTHENTICATED');
    const after = ok(await h.gql<{ sessions: { id: string }[] }>(`{ sessions { id } }`, {}, fresh.signIn.token));
    expect(after.sessions.map((s) => s.id)).toEqual([fresh.signIn.session.id]);
    // A session used just inside the idle limit still works and is touched again.
    await h.db.prisma.session.update({ where: { id: fresh.signIn.session.id }, data: { lastSeenAt: ago(idleSeconds - 120) } });
    expect(ok(await h.gql(`{ viewer { email } }`, {}, fresh.signIn.token))).toBeTruthy();
    const touched = await h.db.prisma.session.findUniqueOrThrow({ where: { id: fresh.signIn.session.id } });
    expect(touched.lastSeenAt.getTime()).toBeGreaterThan(Date.now() - 60_000);

    // Sessions that ended over 30 days ago are deleted at the next sign-in; recent ones stay on record.
    const longGone = await h.db.prisma.session.update({ where: { id: idle.signIn.session.id }, data: { revokedAt: ago(40 * 86400) } });
    ok(await signInFrom(address, email, TEST_PASSWORD));
    expect(await h.db.prisma.session.findUnique({ where: { id: longGone.id } })).toBeNull();
    expect(await h.db.prisma.session.findUnique({ where: { id: old.signIn.session.id } })).not.toBeNull();
  });

  it('keeps API tokens working for notebooks; signOut with one names the right mutation', async () => {
    const u = await signUp(h, 'notebook');
    const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Notebooks") { id } }`, {}, u.token)).createTeam.id;
    const t = ok(await h.gql<{ createApiToken: { token: string } }>(`mutation($t: ID!) { createApiToken(name: "nb", teamId: $t) { token } }`, { t: team }, u.token));
    expect(ok(await h.gql<{ viewer: { email: string } }>(`{ viewer { email } }`, {}, t.createApiToken.token)).viewer.email).toBe(u.email);
    const r = await h.gql(`mutation { signOut }`, {}, t.createApiToken.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'authorization' });
    expect(r.errors?.[0]?.message).toMatch(/revokeApiToken/);
  });
});

describe('sign-in lock-out', () => {
  it('computes base·2^k after the free failures, capped', () => {
    // The slow, obvious reference: double `base` once per failure beyond the free ones.
    const reference = (failures: number, free: number, base: number, max: number) => {
      if (failures < free) return 0;
      let d = base;
      for (let i = free; i < failures; i++) d *= 2;
      return Math.min(d, max);
    };
    for (let f = 0; f < 40; f++) expect(backoffSeconds(f, 3, 30, 600)).toBe(reference(f, 3, 30, 600));
  });

  it('locks an account after its free failures, refuses the right password during the lock, doubles, then resets on success', async () => {
    const { email } = await newUser('brute');
    const address = freshAddress();
    for (let i = 0; i < LIMITS.freeFailuresPerAccount; i++) {
      expect(code(await signInFrom(address, email, 'wrong password!'))).toBe('UNAUTHENTICATED');
    }
    const res = await fetch(h.api.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': freshAddress() },
      body: JSON.stringify({ query: SIGN_IN, variables: { e: email, p: TEST_PASSWORD } }),
    });
    const locked = (await res.json()) as GqlResult<unknown>;
    expect(res.status).toBe(429);
    expect(locked.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
    const retryAfter = Number(locked.errors?.[0]?.extensions?.retryAfter);
    expect(retryAfter).toBeGreaterThan(LIMITS.backoffBaseSeconds - 5);
    expect(retryAfter).toBeLessThanOrEqual(LIMITS.backoffBaseSeconds);
    expect(res.headers.get('retry-after')).toBe(String(retryAfter));
    expect(locked.errors?.[0]?.message).toMatch(/try again in \d+ s/);
    expect(await h.db.prisma.session.count({ where: { user: { email } } })).toBe(0);

    // Once the lock has passed, one more failure locks for twice as long.
    const key = `account:${email}`;
    await h.db.prisma.signInThrottle.update({ where: { key }, data: { lockedUntil: new Date(Date.now() - 1000) } });
    expect(code(await signInFrom(address, email, 'wrong password!'))).toBe('UNAUTHENTICATED');
    const again = await signInFrom(address, email, TEST_PASSWORD);
    expect(code(again)).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(again.errors?.[0]?.extensions?.retryAfter)).toBeGreaterThan(2 * LIMITS.backoffBaseSeconds - 5);

    // After it, the right password works and clears the account's counter.
    await h.db.prisma.signInThrottle.update({ where: { key }, data: { lockedUntil: new Date(Date.now() - 1000) } });
    ok(await signInFrom(address, email, TEST_PASSWORD));
    expect(await h.db.prisma.signInThrottle.findUnique({ where: { key } })).toBeNull();
    // The account starts afresh (other addresses, so the address limit stays out of it).
    for (let i = 0; i < LIMITS.freeFailuresPerAccount - 1; i++) expect(code(await signInFrom(freshAddress(), email, 'wrong password!'))).toBe('UNAUTHENTICATED');
    ok(await signInFrom(freshAddress(), email, TEST_PASSWORD));
  });

  it('treats an unknown address exactly like a registered one', async () => {
    const known = await newUser('known');
    const unknown = uniqueEmail('ghost');
    const address = freshAddress();
    const answers: { known: unknown[]; unknown: unknown[] } = { known: [], unknown: [] };
    for (let i = 0; i <= LIMITS.freeFailuresPerAccount; i++) {
      const a = await signInFrom(address, known.email, 'wrong password!');
      const b = await signInFrom(freshAddress(), unknown, 'wrong password!');
      answers.known.push(a.errors?.map((e) => ({ code: e.extensions?.code, message: e.message.replace(/\d+ s/, 'N s') })));
      answers.unknown.push(b.errors?.map((e) => ({ code: e.extensions?.code, message: e.message.replace(/\d+ s/, 'N s') })));
    }
    expect(answers.unknown).toEqual(answers.known);
    expect((answers.known.at(-1) as { code: string }[])[0]!.code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('locks an address trying many accounts, without touching other addresses', async () => {
    const address = freshAddress();
    for (let i = 0; i < LIMITS.freeFailuresPerAddress; i++) {
      expect(code(await signInFrom(address, uniqueEmail('spray'), 'wrong password!'))).toBe('UNAUTHENTICATED');
    }
    const victim = await newUser('victim');
    const refused = await signInFrom(address, victim.email, TEST_PASSWORD);
    expect(code(refused)).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(refused.errors?.[0]?.extensions?.retryAfter)).toBeGreaterThan(0);
    ok(await signInFrom(freshAddress(), victim.email, TEST_PASSWORD));
  });

  it('lets no more than the free failures through when guesses arrive in parallel', async () => {
    const { email } = await newUser('parallel');
    const answers = await Promise.all(Array.from({ length: 12 }, () => signInFrom(freshAddress(), email, 'wrong password!')));
    const codes = answers.map(code);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(LIMITS.freeFailuresPerAccount);
    expect(codes.filter((c) => c === 'TOO_MANY_ATTEMPTS')).toHaveLength(12 - LIMITS.freeFailuresPerAccount);
  });
});

describe('no email oracle', () => {
  it('answers sign-up identically for a new and a registered address, changing nothing for the registered one', async () => {
    const existing = await newUser('taken');
    const before = await h.db.prisma.user.findUniqueOrThrow({ where: { email: existing.email } });
    const forExisting = await h.gql(SIGN_UP, { e: existing.email, p: 'another password 123', n: 'Intruder' });
    const fresh = uniqueEmail('fresh');
    const forNew = await h.gql(SIGN_UP, { e: fresh, p: 'another password 123', n: 'Newcomer' });
    expect(forExisting).toEqual(forNew);
    const after = await h.db.prisma.user.findUniqueOrThrow({ where: { email: existing.email } });
    expect(after).toEqual(before);
    // The chosen password works for the new address only.
    ok(await signInFrom(freshAddress(), fresh, 'another password 123'));
    expect(code(await signInFrom(freshAddress(), existing.email, 'another password 123'))).toBe('UNAUTHENTICATED');
  });

  it('answers inviteMember identically for registered and unknown addresses, and creates no membership', async () => {
    const owner = await signUp(h, 'owner');
    const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Invites") { id } }`, {}, owner.token)).createTeam.id;
    const registered = await signUp(h, 'invitee');
    const unknown = uniqueEmail('nobody');
    const q = `mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e, role: viewer) { id teamId teamName email role status invitedBy createdAt expiresAt } }`;
    const a = await h.gql<{ inviteMember: Record<string, unknown> }>(q, { t: team, e: registered.email }, owner.token);
    const b = await h.gql<{ inviteMember: Record<string, unknown> }>(q, { t: team, e: unknown }, owner.token);
    const shape = (r: GqlResult<{ inviteMember: Record<string, unknown> }>) => {
      const { id: _id, email: _email, createdAt: _c, expiresAt: _x, ...rest } = ok(r).inviteMember;
      return { keys: Object.keys(ok(r).inviteMember).sort(), rest, errors: r.errors };
    };
    expect(shape(a)).toEqual(shape(b));
    expect(await h.db.prisma.membership.count({ where: { teamId: team } })).toBe(1);
  });
});

describe('invitations', () => {
  it('lets the invitee accept or decline; only then is there a membership; owners list and revoke', async () => {
    const owner = await signUp(h, 'inv-owner');
    const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Crew") { id } }`, {}, owner.token)).createTeam.id;
    const ann = await signUp(h, 'ann');
    const bob = await signUp(h, 'bob');
    const eve = await signUp(h, 'eve');
    const invite = `mutation($t: ID!, $e: String!, $r: Role!) { inviteMember(teamId: $t, email: $e, role: $r) { id status } }`;
    const toAnn = ok(await h.gql<{ inviteMember: { id: string } }>(invite, { t: team, e: ann.email.toUpperCase(), r: 'member' }, owner.token)).inviteMember.id;
    const toBob = ok(await h.gql<{ inviteMember: { id: string } }>(invite, { t: team, e: bob.email, r: 'viewer' }, owner.token)).inviteMember.id;
    // Inviting again replaces the pending invitation's role instead of adding one.
    expect(ok(await h.gql<{ inviteMember: { id: string } }>(invite, { t: team, e: bob.email, r: 'member' }, owner.token)).inviteMember.id).toBe(toBob);

    const mine = ok(await h.gql<{ invitations: { id: string; teamName: string; role: string; invitedBy: string }[] }>(`{ invitations { id teamName role invitedBy } }`, {}, ann.token));
    expect(mine.invitations).toEqual([{ id: toAnn, teamName: 'Crew', role: 'member', invitedBy: owner.email }]);
    expect(ok(await h.gql<{ invitations: unknown[] }>(`{ invitations { id } }`, {}, eve.token)).invitations).toEqual([]);
    const listed = ok(await h.gql<{ teamInvitations: { id: string; email: string }[] }>(`query($t: ID!) { teamInvitations(teamId: $t) { id email } }`, { t: team }, owner.token));
    expect(listed.teamInvitations.map((i) => i.id).sort()).toEqual([toAnn, toBob].sort());

    // Nobody but the invitee can answer it, and the team stays closed until then.
    const accept = `mutation($id: ID!) { acceptInvitation(id: $id) { role team { id name } } }`;
    expect(code(await h.gql(accept, { id: toAnn }, eve.token))).toBe('FORBIDDEN');
    expect(code(await h.gql(`query($t: ID!) { team(id: $t) { name } }`, { t: team }, ann.token))).toBe('FORBIDDEN');
    const accepted = ok(await h.gql<{ acceptInvitation: { role: string; team: { id: string; name: string } } }>(accept, { id: toAnn }, ann.token));
    expect(accepted.acceptInvitation).toEqual({ role: 'member', team: { id: team, name: 'Crew' } });
    expect(ok(await h.gql<{ team: { viewerRole: string } }>(`query($t: ID!) { team(id: $t) { viewerRole } }`, { t: team }, ann.token)).team.viewerRole).toBe('member');
    expect(code(await h.gql(accept, { id: toAnn }, ann.token))).toBe('CONFLICT');

    const declined = ok(await h.gql<{ declineInvitation: { status: string } }>(`mutation($id: ID!) { declineInvitation(id: $id) { status } }`, { id: toBob }, bob.token));
    expect(declined.declineInvitation.status).toBe('declined');
    expect(await h.db.prisma.membership.findUnique({ where: { userId_teamId: { userId: bob.userId, teamId: team } } })).toBeNull();

    // A revoked invitation can no longer be accepted.
    const toEve = ok(await h.gql<{ inviteMember: { id: string } }>(invite, { t: team, e: eve.email, r: 'owner' }, owner.token)).inviteMember.id;
    expect(code(await h.gql(`mutation($id: ID!) { revokeInvitation(id: $id) { status } }`, { id: toEve }, ann.token))).toBe('FORBIDDEN');
    expect(ok(await h.gql<{ revokeInvitation: { status: string } }>(`mutation($id: ID!) { revokeInvitation(id: $id) { status } }`, { id: toEve }, owner.token)).revokeInvitation.status).toBe('revoked');
    expect(code(await h.gql(accept, { id: toEve }, eve.token))).toBe('CONFLICT');
    expect(await h.db.prisma.membership.count({ where: { teamId: team } })).toBe(2);
  });

  it('reaches an address that registers after being invited; expired invitations cannot be accepted', async () => {
    const owner = await signUp(h, 'later-owner');
    const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Later") { id } }`, {}, owner.token)).createTeam.id;
    const email = uniqueEmail('later');
    const inv = ok(await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e) { id } }`, { t: team, e: email }, owner.token)).inviteMember.id;
    ok(await h.gql(SIGN_UP, { e: email, p: TEST_PASSWORD }));
    const token = ok(await signInFrom(freshAddress(), email, TEST_PASSWORD)).signIn.token;
    expect(ok(await h.gql<{ invitations: { id: string }[] }>(`{ invitations { id } }`, {}, token)).invitations.map((i) => i.id)).toEqual([inv]);
    await h.db.prisma.invitation.update({ where: { id: inv }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(ok(await h.gql<{ invitations: unknown[] }>(`{ invitations { id } }`, {}, token)).invitations).toEqual([]);
    const r = await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: inv }, token);
    expect(code(r)).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toMatch(/expired/);
  });
});

describe('error hygiene', () => {
  it('rejects NUL, control and bidi-override characters in names, naming the field', async () => {
    const u = await signUp(h, 'names');
    const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Names") { id } }`, {}, u.token)).createTeam.id;
    const project = `mutation($t: ID!, $n: String!, $d: String) { createProject(teamId: $t, name: $n, description: $d) { id } }`;
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      [project, { t: team, n: 'x\u0000y' }, 'name', /U\+0000/],
      [project, { t: team, n: 'ok', d: 'line one\nline two\u0000' }, 'description', /U\+0000/],
      [project, { t: team, n: 'evil\u202Etxt.exe' }, 'name', /bidirectional override.*U\+202E/],
      [project, { t: team, n: 'isolate\u2066x' }, 'name', /U\+2066/],
      [project, { t: team, n: 'bell\u0007' }, 'name', /control characters.*U\+0007/],
      [`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: 'Team\u202D' }, 'name', /U\+202D/],
      [`mutation($n: String!, $t: ID!) { createApiToken(name: $n, teamId: $t) { token } }`, { n: 'tab\there', t: team }, 'name', /U\+0009/],
      [`query($t: ID!) { projects(teamId: $t) { id } }`, { t: '\u0000' }, 'teamId', /U\+0000/],
    ];
    for (const [q, v, field, message] of cases) {
      const r = await h.gql(q, v, u.token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(v)).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(r.errors?.[0]?.message).toMatch(message);
      expect(r.data ?? null).toBeNull();
    }
    // Also in a literal inside the query text, and deep inside a JSON argument.
    const literal = await h.gql(`mutation { createProject(teamId: "${team}", name: "a\\u0000b") { id } }`, {}, u.token);
    expect(literal.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const deep = await h.gql(`mutation($r: JSON!) { createRun(projectId: "${team}", baseModelId: "${team}", recipe: $r) { id } }`, { r: { steps: [{ technique: 'x\u0000' }] } }, u.token);
    expect(deep.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps[0].technique' });
    const models = await upload(h.api, tinyOnnxModel(), u.token);
    const p = ok(await h.gql<{ createProject: { id: string } }>(project, { t: team, n: 'fine name' }, u.token)).createProject.id;
    const m = await h.gql(`mutation($p: ID!, $n: String!, $s: String!) { importModel(projectId: $p, name: $n, sha256: $s) { id } }`, { p, n: 'model\u2069', s: models.body.sha256 }, u.token);
    expect(m.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(await h.db.prisma.project.count({ where: { teamId: team } })).toBe(1);
  });

  it('answers an internal failure opaquely with a correlation id that the log holds with the stack', async () => {
    const u = await signUp(h, 'opaque');
    const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Opaque") { id } }`, {}, u.token)).createTeam.id;
    await h.db.prisma.$executeRawUnsafe(`ALTER TABLE "Project" RENAME TO "ProjectHidden"`);
    let r: GqlResult<unknown>;
    try {
      r = await h.gql(`query($t: ID!) { projects(teamId: $t) { id } }`, { t: team }, u.token);
    } finally {
      await h.db.prisma.$executeRawUnsafe(`ALTER TABLE "ProjectHidden" RENAME TO "Project"`);
    }
    const err = r.errors?.[0];
    expect(err?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    const id = String(err?.extensions?.correlationId);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(err?.message).toBe(`internal server error (correlation id ${id})`);
    // NODE_ENV is unset here: still no stack trace, SQL, Prisma call or source path.
    expect(JSON.stringify(r)).not.toMatch(/stacktrace|prisma|ProjectHidden|does not exist|\.ts:|node_modules/i);
    const logged = logLines.map((l) => JSON.parse(l) as { correlationId?: string; err?: { stack?: string } }).find((l) => l.correlationId === id);
    expect(logged?.err?.stack).toMatch(/at /);
  });

  it('shows internals only when GRAPHQL_DEBUG_ERRORS=1', async () => {
    const debug = await startHarness({ env: { GRAPHQL_DEBUG_ERRORS: '1' } });
    try {
      const u = await signUp(debug, 'debug');
      await debug.db.prisma.$executeRawUnsafe(`ALTER TABLE "Team" RENAME TO "TeamHidden"`);
      const r = await debug.gql(`{ teams { id } }`, {}, u.token);
      expect(r.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(r.errors?.[0]?.extensions?.correlationId).toBeTruthy();
      expect(JSON.stringify(r.errors?.[0]?.extensions?.stacktrace)).toMatch(/at /);
    } finally {
      await debug.close();
    }
  });

  it('maps database errors caused by input to the field (real Postgres errors)', async () => {
    const t = await h.db.prisma.team.create({ data: { name: 'dup', slug: `dup-${Date.now()}` } });
    const attempts: [() => Promise<unknown>, { field?: string; message: RegExp }][] = [
      [() => h.db.prisma.team.create({ data: { name: 'dup', slug: t.slug } }), { field: 'slug', message: /already taken/ }],
      [() => h.db.prisma.project.create({ data: { teamId: t.id, name: 'nul\u0000' } }), { message: /U\+0000/ }],
      [() => h.db.prisma.project.create({ data: { teamId: '00000000-0000-4000-8000-000000000000', name: 'orphan' } }), { field: 'teamId', message: /does not exist/ }],
    ];
    for (const [attempt, expected] of attempts) {
      const e = await attempt().then(
        () => null,
        (err: unknown) => err,
      );
      const problem = databaseInputProblem(e);
      expect(problem?.message).toMatch(expected.message);
      expect(problem?.field).toBe(expected.field);
    }
    expect(databaseInputProblem(new Error('connection refused'))).toBeNull();
  });
});

describe('security headers', () => {
  it('sends them on GraphQL, upload, health and error answers', async () => {
    const answers = [
      await fetch(h.api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ apiVersion }' }) }),
      await fetch(`${h.api.url}/upload`, { method: 'POST', body: 'x' }),
      await fetch(`${h.api.url}/health`),
      await fetch(`${h.api.url}/nope`),
      await fetch(h.api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad json' }),
    ];
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options'), res.url).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});
