/**
 * The dashboard's session in a real browser (Debian Chromium) against a live stack: the
 * session lives in an httpOnly SameSite cookie that page scripts cannot read, nothing
 * is kept in localStorage, pages work under the Content-Security-Policy (which blocks
 * an injected script), the proxy refuses the cookie on cross-site requests, and
 * "Sign out" ends the session on the server.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, GraphqlCallError } from '@distillery/services';
import { uniqueEmail } from '../src/scenario';
import { startStack, type Stack } from '../src/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const violations: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  stack = await startStack({ web: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  context = await browser.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  // Anything the CSP blocks shows up as a console error; the dashboard's own code must cause none.
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy'];

describe('dashboard session', () => {
  it('signs up into an httpOnly cookie, keeps no token where scripts can read it, and signs out on the server', async () => {
    const web = stack.webUrl!;
    const email = uniqueEmail('cookie');

    const first = await page.goto(`${web}/signin`);
    const csp = first!.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    for (const h of SECURITY_HEADERS) expect(first!.headers()[h], h).toBeTruthy();
    expect(first!.headers()['x-content-type-options']).toBe('nosniff');
    // A fresh nonce per answer.
    const again = await fetch(`${web}/signin`);
    expect(again.headers.get('content-security-policy')).not.toBe(csp);

    await page.getByRole('button', { name: 'Create one' }).click();
    await page.fill('#name', 'Cookie User');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${web}/`);
    // Signed in: the page loaded the viewer through the proxy with the cookie.
    await page.getByText(email).waitFor();

    const cookies = await context.cookies(web);
    const session = cookies.find((c) => c.name === 'distillery_session');
    expect(session).toBeDefined();
    expect(session!.httpOnly).toBe(true);
    expect(session!.sameSite).toBe('Strict');
    expect(session!.value.startsWith('dss_')).toBe(true);
    const stored = await page.evaluate(() => ({
      cookie: document.cookie,
      local: Object.entries(window.localStorage),
      sessionStore: Object.entries(window.sessionStorage),
    }));
    expect(stored.cookie).not.toContain(session!.value);
    expect(stored.cookie).not.toContain('distillery_session');
    expect(JSON.stringify(stored.local)).not.toMatch(/dss_|dst_/);
    expect(JSON.stringify(stored.sessionStore)).not.toMatch(/dss_|dst_/);
    // The cookie is a live session on the API.
    const viewer = await graphql<{ viewer: { email: string } }>(stack.graphqlUrl, '{ viewer { email } }', {}, session!.value);
    expect(viewer.viewer.email).toBe(email);

    // The CSP holds: Next's own scripts ran without a violation, and an injected inline handler (the usual XSS) does not run.
    expect(violations).toEqual([]);
    await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<img id="xss" src="/no-such-image.png" onerror="window.__injected = true">'));
    await expect.poll(() => violations.length).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected ?? false)).toBe(false);
    expect(violations.every((v) => /inline event handler|script-src/i.test(v))).toBe(true);
    violations.length = 0;

    // Team creation works through the cookie (a same-origin POST from the page).
    await page.getByLabel('Team name').fill('Cookie Lab');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByText('Cookie Lab').first().waitFor();

    // Sign out ends the session on the server: the old token is refused by the API itself.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/signin');
    expect((await context.cookies(web)).find((c) => c.name === 'distillery_session')).toBeUndefined();
    const after = await graphql(stack.graphqlUrl, '{ viewer { email } }', {}, session!.value).then(
      () => null,
      (e: unknown) => e,
    );
    expect(after).toBeInstanceOf(GraphqlCallError);
    expect((after as GraphqlCallError).hasCode('UNAUTHENTICATED')).toBe(true);
    // And the dashboard sends a signed-out visitor to sign-in.
    await page.goto(`${web}/`);
    await page.waitForURL('**/signin');
    expect(violations).toEqual([]);
  });

  it('accepts the session cookie only from its own pages (CSRF), and sends the security headers on proxied answers', async () => {
    const web = stack.webUrl!;
    const email = uniqueEmail('csrf');
    await graphql(stack.graphqlUrl, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { message } }', { e: email, p: PASSWORD });
    const signIn = await fetch(`${web}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-distillery-csrf': '1', origin: web },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^distillery_session=dss_[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(JSON.stringify(await signIn.json())).not.toContain('dss_');
    const cookie = setCookie.split(';')[0]!;
    const body = JSON.stringify({ query: '{ viewer { email } }' });
    const post = (headers: Record<string, string>) => fetch(`${web}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body });

    const own = await post({ 'x-distillery-csrf': '1', origin: web, 'sec-fetch-site': 'same-origin' });
    expect(((await own.json()) as { data: { viewer: { email: string } } }).data.viewer.email).toBe(email);
    for (const h of SECURITY_HEADERS) expect(own.headers.get(h), h).toBeTruthy();

    const crossSite: Record<string, string>[] = [{}, { 'x-distillery-csrf': '1', origin: 'https://evil.example' }, { 'x-distillery-csrf': '1', 'sec-fetch-site': 'cross-site' }];
    for (const headers of crossSite) {
      const r = await post(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(((await r.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('CSRF_REJECTED');
    }
    // Sign-in from another site is refused too (login CSRF).
    const foreign = await fetch(`${web}/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'x-distillery-csrf': '1' }, body: JSON.stringify({ email, password: PASSWORD }) });
    expect(foreign.status).toBe(403);

    // Wrong password through the dashboard: the API's error, no cookie.
    const wrong = await fetch(`${web}/session`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-distillery-csrf': '1' }, body: JSON.stringify({ email, password: 'wrong password!!' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(((await wrong.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');

    // Pages ask /session whether a cookie is there (they cannot read it themselves).
    expect(await (await fetch(`${web}/session`, { headers: { cookie } })).json()).toEqual({ signedIn: true });
    expect(await (await fetch(`${web}/session`)).json()).toEqual({ signedIn: false });

    const out = await fetch(`${web}/session`, { method: 'DELETE', headers: { cookie, 'x-distillery-csrf': '1' } });
    expect(await out.json()).toEqual({ signedOut: true });
    expect(out.headers.get('set-cookie')).toMatch(/^distillery_session=; .*Max-Age=0/);
    const ended = await post({ 'x-distillery-csrf': '1' });
    expect(((await ended.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('signs in, invites by email from the team card, and the invitee accepts in their own browser', async () => {
    const web = stack.webUrl!;
    const signUpOnly = (email: string) => graphql(stack.graphqlUrl, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { message } }', { e: email, p: PASSWORD });
    const owner = uniqueEmail('owner');
    const invitee = uniqueEmail('invitee');
    await signUpOnly(owner);
    await signUpOnly(invitee);

    async function signInPage(email: string): Promise<Page> {
      const p = await (await browser.newContext()).newPage();
      p.setDefaultTimeout(30_000);
      await p.goto(`${web}/signin`);
      await p.fill('#email', email);
      await p.fill('#password', PASSWORD);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.waitForURL(`${web}/`);
      return p;
    }

    const ownerPage = await signInPage(owner);
    await ownerPage.getByLabel('Team name').fill('Invite Lab');
    await ownerPage.getByRole('button', { name: 'Create team' }).click();
    await ownerPage.getByLabel('Invite email').waitFor();
    await ownerPage.getByLabel('Invite email').fill(invitee);
    await ownerPage.getByLabel('Invite role').selectOption('viewer');
    await ownerPage.getByRole('button', { name: 'Invite', exact: true }).click();
    expect(await ownerPage.getByTestId('invite-note').textContent()).toContain(invitee);

    const inviteePage = await signInPage(invitee);
    const card = inviteePage.getByTestId('invitation');
    await card.waitFor();
    expect(await card.textContent()).toContain('Invite Lab');
    expect(await inviteePage.getByTestId('team').count()).toBe(0);
    await card.getByRole('button', { name: 'Accept' }).click();
    await inviteePage.getByTestId('team').waitFor();
    expect(await inviteePage.getByTestId('team').locator('h2').textContent()).toBe('Invite Lab');
    expect(await inviteePage.getByTestId('team').locator('.team-head .muted').textContent()).toBe('viewer');
    expect(await inviteePage.getByTestId('invitation').count()).toBe(0);
    // A viewer gets no invite form.
    expect(await inviteePage.getByLabel('Invite email').count()).toBe(0);
  });
});
