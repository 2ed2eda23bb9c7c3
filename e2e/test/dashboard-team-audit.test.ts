/**
 * The team page's audit log in a real browser against a live stack: an owner reads the
 * team's events newest first, a page at a time, in the API's order, with refused calls
 * on demand; a member of the same team is not offered the log. Screenshots go to
 * e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { graphql } from '@distillery/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS } from '../src/browser';
import { createWorkspace, uniqueEmail, type Workspace } from '../src/scenario';
import { startStack, type Stack } from '../src/stack';

const PASSWORD = 'correct horse battery staple';
/** More events than one page of the log (25). */
const EXTRA_PROJECTS = 30;

/** Answers that wait on the API and a re-render: generous, as the machine may be busy. */
const within = { timeout: 20_000, interval: 200 };

let stack: Stack;
let browser: Browser;
let owner: Workspace;
let member: { email: string; token: string };

interface AuditNode {
  id: string;
  action: string;
  outcome: string;
  createdAt: string;
}

async function apiAuditLog(): Promise<AuditNode[]> {
  const out: AuditNode[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { auditLog: { edges: { node: AuditNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await graphql(
      stack.graphqlUrl,
      'query($t: ID!, $a: String) { auditLog(teamId: $t, first: 100, after: $a) { edges { node { id action outcome createdAt } } pageInfo { hasNextPage endCursor } } }',
      { t: owner.teamId, a: after },
      owner.token,
    );
    out.push(...r.auditLog.edges.map((e) => e.node));
    if (!r.auditLog.pageInfo.hasNextPage) return out;
    after = r.auditLog.pageInfo.endCursor;
  }
}

async function signIn(context: BrowserContext, email: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${stack.webUrl}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.webUrl}/`);
  return page;
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  owner = await createWorkspace(stack.apiUrl, 'audit-owner');
  const url = stack.graphqlUrl;
  const email = uniqueEmail('audit-member');
  await graphql(url, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { message } }', { e: email, p: PASSWORD });
  const token = (await graphql<{ signIn: { token: string } }>(url, 'mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }', { e: email, p: PASSWORD })).signIn.token;
  member = { email, token };
  await graphql(url, 'mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e, role: member) { id } }', { t: owner.teamId, e: email }, owner.token);
  const inv = await graphql<{ invitations: { id: string }[] }>(url, '{ invitations { id } }', {}, token);
  await graphql(url, 'mutation($id: ID!) { acceptInvitation(id: $id) { role } }', { id: inv.invitations[0]!.id }, token);
  for (let i = 0; i < EXTRA_PROJECTS; i++) {
    await graphql(url, 'mutation($t: ID!, $n: String!) { createProject(teamId: $t, name: $n) { id } }', { t: owner.teamId, n: `p-${i}` }, owner.token);
  }
  // A member may not change the team's public-leaderboard setting: a refused call, logged.
  await expect(graphql(url, 'mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: true) { id } }', { t: owner.teamId }, token)).rejects.toThrow(/FORBIDDEN|not allowed|permission/i);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('team audit log', () => {
  it("shows the owner the team's events newest first, a page at a time, in the API's order", async () => {
    const expected = await apiAuditLog();
    expect(expected.length).toBeGreaterThan(EXTRA_PROJECTS);
    expect(expected[0]).toMatchObject({ action: 'setLeaderboardPublic', outcome: 'FORBIDDEN' });

    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await signIn(context, owner.email);
    await page.goto(`${stack.webUrl}/teams/${owner.teamId}`);
    const log = page.getByTestId('audit-log');
    const count = log.getByTestId('audit-count');
    await expect.poll(() => count.textContent(), within).toBe('25 events loaded, older ones on the server');
    const rows = log.getByTestId('audit-row');
    const shown = async () => Promise.all((await rows.all()).map(async (r) => ({ action: await r.getAttribute('data-action'), outcome: await r.getAttribute('data-outcome'), createdAt: await r.getAttribute('data-created-at') })));
    const firstPage = await shown();
    expect(firstPage.map((r) => r.action)).toEqual(expected.slice(0, 25).map((e) => e.action));
    // Newest first.
    const times = firstPage.map((r) => Date.parse(r.createdAt!));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // The refused call reads as refused, with the member who made it.
    expect(await rows.first().locator('td').nth(1).textContent()).toContain(member.email);
    expect(await rows.first().locator('td').nth(3).textContent()).toBe('FORBIDDEN');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'team-audit-desktop.png'), fullPage: true });

    // Older pages follow the API's cursor until the log is whole.
    for (let i = 0; i < 10 && (await log.getByTestId('audit-older').count()) > 0; i++) {
      const before = await rows.count();
      await log.getByTestId('audit-older').click();
      await expect.poll(() => rows.count(), within).toBeGreaterThan(before);
    }
    expect(await count.textContent()).toBe(`${expected.length} events loaded`);
    expect((await shown()).map((r) => r.action)).toEqual(expected.map((e) => e.action));
    expect(await rows.last().getAttribute('data-action')).toBe('createTeam');

    // Refused calls only.
    await log.getByTestId('audit-refused-only').check();
    const refused = expected.filter((e) => e.outcome !== 'ok');
    expect(refused.length).toBeGreaterThan(0);
    expect((await shown()).map((r) => r.outcome)).toEqual(refused.map((e) => e.outcome));

    // At phone width the log scrolls inside its card, not the page.
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'team-audit-phone.png'), fullPage: true });
    await context.close();
  });

  it('does not offer the audit log to a member', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await signIn(context, member.email);
    await page.goto(`${stack.webUrl}/teams/${owner.teamId}`);
    await page.getByTestId('members-table').waitFor();
    expect(await page.getByTestId('member-row').count()).toBe(2);
    expect(await page.getByText('You are a member of this team.').count()).toBe(1);
    expect(await page.getByTestId('audit-log').count()).toBe(0);
    // The API agrees: the log is the owners'.
    await expect(graphql(stack.graphqlUrl, 'query($t: ID!) { auditLog(teamId: $t) { edges { cursor } } }', { t: owner.teamId }, member.token)).rejects.toThrow();
    await context.close();
  });
});
