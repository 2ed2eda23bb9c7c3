/**
 * Live run updates over the dashboard's WebSocket relay, and the leaderboard, lineage,
 * sweeps and team pages, in a real browser against a live stack: a run page following a run to its end
 * from subscription events alone, sockets from other sites refused; runs scored
 * with the standard suite ranked best first, a latency budget narrowing the board, the
 * public board empty until the team opts in; the project's lineage from its base model
 * through runs to a produced model, and a run opened from it. Phone layout without
 * horizontal scrolling, and a model name with markup shown as text. Screenshots go to
 * e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshFinalMetrics } from '@distillery/db';
import { graphql, startWorkerProcess, type Service } from '@distillery/services';
import { WebSocket } from 'ws';
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS, openSignedIn } from '../src/browser';
import { createWorkspace, type Workspace } from '../src/scenario';
import { seedFinishedRuns } from '../src/seed-runs';
import { startStack, type Stack } from '../src/stack';

const SEEDED = 8;
const HOSTILE = '<img src=x onerror="window.__injected=1">';

let stack: Stack;
let browser: Browser;
let ws: Workspace;
let seededIds: string[];
let extraWorker: Service | undefined;
let webUrl = '';
let liveRunIds: string[] = [];

function signedInPage(viewport: { width: number; height: number }): Promise<Page> {
  return openSignedIn(browser, webUrl, ws, viewport);
}

const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

beforeAll(async () => {
  stack = await startStack({ web: true });
  webUrl = stack.webUrl!;
  ws = await createWorkspace(stack.apiUrl, 'board');
  const prisma = stack.db.prisma;
  seededIds = await seedFinishedRuns(prisma, { projectId: ws.projectId, baseModelId: ws.modelId, count: SEEDED });
  // Leaderboards rank only runs that name the suite they were scored with.
  await prisma.run.updateMany({ where: { id: { in: seededIds } }, data: { evaluation: { suite: { id: 'distillery-standard', version: 1 }, samples: [], notes: [] } } });
  // Seeded rows bypass the run lifecycle, which keeps the leaderboards' final figures: refresh them as it would.
  await refreshFinalMetrics(prisma, seededIds);
  const base = await prisma.model.findUniqueOrThrow({ where: { id: ws.modelId } });
  await prisma.model.create({
    data: { teamId: base.teamId, projectId: ws.projectId, name: `${HOSTILE} int4`, format: base.format, sha256: base.sha256, bytes: base.bytes, parameterCount: base.parameterCount, storagePath: base.storagePath, parentId: base.id, producedByRunId: seededIds[0]! },
  });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await extraWorker?.stop('SIGTERM');
  await stack?.close();
});

/** How the dashboard answers a WebSocket upgrade on /graphql with these headers: 'open' or the refusal's HTTP status. */
function upgradeOutcome(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${webUrl.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers });
    // Opened is not enough: the relay must reach the API and be acknowledged with the session.
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      socket.close();
      resolve((JSON.parse(String(data)) as { type: string }).type === 'connection_ack' ? 'open' : `unexpected ${String(data)}`);
    });
    socket.on('close', (code) => resolve(`closed ${code}`));
    socket.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
    socket.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

describe('live updates, leaderboard and lineage pages', () => {
  it('follows a run to its end from subscription events, on its page and in the runs list, without polling', async () => {
    // With the worker stopped the run stays queued until the page is subscribed.
    await stack.worker.stop('SIGTERM');
    const page = await signedInPage(DESKTOP);
    const received: string[] = [];
    page.on('websocket', (socket) => socket.on('framereceived', (f) => received.push(String(f.payload))));
    const graphqlPosts: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/graphql') && r.method() === 'POST') graphqlPosts.push(r.postData() ?? '');
    });
    const { createRun } = await graphql<{ createRun: { id: string } }>(
      stack.graphqlUrl,
      'mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: { steps: [{ technique: "quantize.rtn-int8", params: {} }] }) { id } }',
      { p: ws.projectId, m: ws.modelId },
      ws.token,
    );

    await page.goto(`${webUrl}/runs/${createRun.id}`);
    liveRunIds = [createRun.id];
    await page.locator('[data-testid="run-status"][data-status="queued"]').first().waitFor();
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor();
    // Connecting reloads once (events sent before it are lost); wait for that reload to be asked.
    await page.waitForTimeout(1000);
    const loadsWhileQueued = graphqlPosts.filter((b) => b.includes('RunPage')).length;
    await page.waitForTimeout(3000);
    // Nothing happens to a queued run, so nothing is asked for again (polling would have).
    expect(graphqlPosts.filter((b) => b.includes('RunPage')).length).toBe(loadsWhileQueued);

    extraWorker = await startWorkerProcess({ databaseUrl: stack.db.url, artifactsDir: stack.artifactsDir, threads: 1, extraEnv: { WORKER_POLL_INTERVAL_MS: '500' } });
    await page.locator('[data-testid="run-status"][data-status="succeeded"]').first().waitFor({ timeout: 120_000 });
    // The run's events came over the socket, its change to succeeded among them.
    expect(received.some((f) => f.includes('"runEvents"') && f.includes('"succeeded"'))).toBe(true);
    expect(await page.getByTestId('run-live').getAttribute('data-transport')).toBe('subscription');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'run-live-desktop.png'), fullPage: true });

    // The runs list: a run started elsewhere appears and turns succeeded from the project's events.
    await page.goto(`${webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('runs-count').waitFor();
    const second = await graphql<{ createRun: { id: string } }>(
      stack.graphqlUrl,
      'mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: { steps: [{ technique: "quantize.rtn-int8", params: {} }] }, seed: 1) { id } }',
      { p: ws.projectId, m: ws.modelId },
      ws.token,
    );
    liveRunIds = [createRun.id, second.createRun.id];
    await page.locator(`[data-testid="run-row"]:has(a[href="/runs/${second.createRun.id}"]) [data-status="succeeded"]`).waitFor({ timeout: 120_000 });
    expect(received.some((f) => f.includes('"projectRunEvents"'))).toBe(true);
    await page.close();
  }, 300_000);

  it('relays subscriptions only for the dashboard own pages with a session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${webUrl}/signin`);
    await page.fill('#email', ws.email);
    await page.fill('#password', ws.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    await context.close();
    const own = webUrl;
    expect(await upgradeOutcome({ origin: own, cookie })).toBe('open');
    expect(await upgradeOutcome({ origin: 'http://evil.example', cookie })).toBe('403');
    expect(await upgradeOutcome({ cookie })).toBe('403');
    expect(await upgradeOutcome({ origin: own })).toBe('403');
  });

  it('ranks the team runs by perplexity, narrows them by a latency budget, and shows the public board', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('open-leaderboard').click();
    await page.waitForURL(`**/leaderboard?team=${ws.teamId}`);
    const rows = page.getByTestId('leaderboard-row');
    // The seeded runs, and any run the live test finished that scored perplexity.
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(SEEDED);
    const values = async () => Promise.all((await page.getByTestId('leaderboard-value').all()).map(async (c) => Number(await c.getAttribute('data-value'))));
    const ranked = await values();
    expect(ranked).toEqual([...ranked].sort((a, b) => a - b));
    // Every row links to its run.
    const hrefs = await page.locator('[data-testid="leaderboard-row"] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const id of seededIds) expect(hrefs).toContain(`/runs/${id}`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'leaderboard-desktop.png'), fullPage: true });

    // Seeded decode latencies lie in [2, 4) ms: a 3 ms budget keeps some runs, not all.
    await page.getByTestId('leaderboard-max-latency').fill('3');
    await page.getByTestId('leaderboard-apply').press('Enter');
    await expect.poll(async () => { const n = await rows.count(); return n > 0 && n < SEEDED; }, { timeout: 20_000 }).toBe(true);
    const narrowed = await rows.count();
    const latencies = await page.locator('[data-testid="leaderboard-row"] td:nth-child(6)').allInnerTexts();
    for (const l of latencies) expect(Number.parseFloat(l)).toBeLessThanOrEqual(3);

    // A bad budget is refused with its name, and the board stays as it was.
    await page.getByTestId('leaderboard-max-size').fill('lots');
    await page.getByTestId('leaderboard-apply').click();
    await expect.poll(() => page.getByTestId('leaderboard-form-error').innerText(), { timeout: 20_000 }).toContain('the size budget');
    await page.getByTestId('leaderboard-max-size').fill('');
    await page.getByTestId('leaderboard-max-latency').fill('');

    // The team has not opted in to public boards, so the public board has none of its runs.
    await page.getByTestId('scope-public').check();
    await page.getByTestId('leaderboard-apply').click();
    await expect.poll(() => page.getByTestId('leaderboard-empty').count(), { timeout: 20_000 }).toBe(1);
    await graphql(stack.graphqlUrl, 'mutation($t: ID!) { setLeaderboardPublic(teamId: $t, public: true) { id } }', { t: ws.teamId }, ws.token);
    await page.getByTestId('leaderboard-apply').click();
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(SEEDED);
    expect(narrowed).toBeLessThan(SEEDED);

    await page.setViewportSize(PHONE);
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'leaderboard-phone.png'), fullPage: true });
    await page.close();
  });

  it('follows the lineage from the base model through a run to the model it produced', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('open-lineage').click();
    await page.waitForURL(`**/projects/${ws.projectId}/lineage`);
    await expect.poll(() => page.getByTestId('lineage-run').count(), { timeout: 20_000 }).toBe(SEEDED + liveRunIds.length);
    await page.getByTestId('lineage-chart').waitFor();
    const produced = await page.getByTestId('lineage-produced').allInnerTexts();
    // The produced model's name is shown as the text typed, never as markup.
    expect(produced.filter((p) => p.includes(HOSTILE))).toHaveLength(1);
    expect(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected)).toBeUndefined();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'lineage-desktop.png'), fullPage: true });

    // The producing run opens by keyboard from the list.
    const row = page.getByTestId('lineage-run').filter({ hasText: 'int4' });
    await row.getByTestId('lineage-run-link').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/runs/${seededIds[0]}`);

    await page.goto(`${webUrl}/projects/${ws.projectId}/lineage`);
    await page.setViewportSize(PHONE);
    await page.getByTestId('lineage-chart').waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'lineage-phone.png'), fullPage: true });
    await page.close();
  });

  it('creates an API token shown once, which works until revoked, on the team page', async () => {
    const page = await signedInPage(DESKTOP);
    await page.getByRole('link', { name: `Team ${ws.email}` }).click();
    await page.waitForURL(`**/teams/${ws.teamId}`);
    await expect.poll(() => page.getByTestId('member-row').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('leaderboard-public').isChecked()).toBe(true);
    await page.getByTestId('token-name').fill(`${HOSTILE} notebook`);
    await page.getByTestId('create-token').click();
    const secret = await page.getByTestId('new-token-secret').innerText();
    const viewer = 'query { viewer { email } }';
    expect((await graphql<{ viewer: { email: string } }>(stack.graphqlUrl, viewer, {}, secret)).viewer.email).toBe(ws.email);
    // Shown once: a fresh load of the page has only the token's prefix.
    await page.reload();
    await page.getByTestId('token-row').first().waitFor();
    expect(await page.getByTestId('new-token').count()).toBe(0);
    expect(await page.locator('body').innerText()).not.toContain(secret);
    await page.getByTestId('revoke-token').click();
    await page.getByTestId('token-revoked').waitFor();
    await expect(graphql(stack.graphqlUrl, viewer, {}, secret)).rejects.toThrow();
    expect(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected)).toBeUndefined();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'team-desktop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.close();
  });
});
