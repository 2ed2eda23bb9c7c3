/**
 * The Sweeps page in a real browser against a live API, worker and database: a sweep
 * started from a saved recipe on the project's base model (not the int8 model an earlier
 * run produced, which is newer), its progress filling in as the worker finishes its runs
 * one after another, the sweep shown done once the worker closes it, and its
 * size-vs-perplexity frontier drawn from the finished runs. A search space that is not
 * JSON is refused with the reason. Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '@distillery/services';
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS, openSignedIn } from '../src/browser';
import { buildSmallDemoModel } from '../src/demo-model';
import { createWorkspace, waitForRun, type Workspace } from '../src/scenario';
import { startStack, type Stack } from '../src/stack';

const HOSTILE = '<img src=x onerror="window.__injected=1">';

let stack: Stack;
let browser: Browser;
let ws: Workspace;
let webUrl = '';

function signedInPage(viewport: { width: number; height: number }): Promise<Page> {
  return openSignedIn(browser, webUrl, ws, viewport);
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  webUrl = stack.webUrl!;
  // A model with its tokenizer, so runs score perplexity and the frontier has both figures.
  ws = await createWorkspace(stack.apiUrl, 'sweeps', { model: buildSmallDemoModel() });
  // A finished run leaves its int8 output as the project's newest ready model.
  const { createRun } = await graphql<{ createRun: { id: string } }>(
    stack.graphqlUrl,
    'mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: { steps: [{ technique: "quantize.rtn-int8", params: {} }] }) { id } }',
    { p: ws.projectId, m: ws.modelId },
    ws.token,
  );
  const run = await waitForRun(stack.apiUrl, ws.token, createRun.id, 240_000);
  if (run.status !== 'succeeded' || !run.outputModel) throw new Error(`the setup run ended ${run.status}: ${run.error}`);
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('sweeps page', () => {
  it('starts a sweep from a saved recipe, fills in its progress and draws its frontier', async () => {
    await graphql(
      stack.graphqlUrl,
      'mutation($t: ID!) { saveRecipe(teamId: $t, name: "rtn bits", recipe: { steps: [{ technique: "quantize.rtn", params: { bits: 8 } }] }) { id } }',
      { t: ws.teamId },
      ws.token,
    );
    const page = await signedInPage(DESKTOP);
    await page.goto(`${webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('open-sweeps').click();
    await page.waitForURL(`**/projects/${ws.projectId}/sweeps`);
    await page.getByTestId('sweeps-empty').waitFor();
    await expect.poll(() => page.locator('[data-testid="sweep-recipe"] option').count()).toBe(1);
    // The project's base model is offered first, not the newer model the run produced.
    expect(await page.getByTestId('sweep-base-model').inputValue()).toBe(ws.modelId);
    expect(await page.locator('[data-testid="sweep-base-model"] option').count()).toBe(2);
    // A space that is not JSON is refused with the reason, and nothing is started.
    await page.getByTestId('sweep-name').fill(`${HOSTILE} bits`);
    await page.getByTestId('sweep-space').fill('[{"path": ');
    await page.getByTestId('start-sweep').click();
    await expect.poll(() => page.locator('[data-testid="new-sweep-form"] [role="alert"]').innerText()).toContain('not JSON');
    expect((await graphql<{ sweeps: unknown[] }>(stack.graphqlUrl, 'query($p: ID!) { sweeps(projectId: $p) { id } }', { p: ws.projectId }, ws.token)).sweeps).toHaveLength(0);

    // Two runs, one at a time: the second starts only when the worker's advance-sweep job sees the first finish.
    await page.getByTestId('sweep-space').fill('[{"path": "steps[0].params.bits", "values": [4, 8]}]');
    await page.getByTestId('sweep-max-runs').fill('2');
    await page.getByTestId('start-sweep').click();
    await page.waitForURL('**/sweeps/*');
    const sweepId = page.url().split('/').pop()!;
    await page.getByTestId('sweep-status').waitFor();
    expect(await page.locator('h1').innerText()).toContain(HOSTILE);
    await expect.poll(() => page.getByTestId('sweep-run').count()).toBeGreaterThanOrEqual(1);

    await expect.poll(() => page.locator('[data-testid="sweep-run"] [data-status="succeeded"]').count(), { timeout: 240_000, interval: 1000 }).toBe(2);
    // The worker closes the sweep after its last run; no run event says so, yet the page follows.
    await expect.poll(() => page.getByTestId('sweep-status').innerText(), { timeout: 60_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('sweep-progress').getAttribute('data-finished')).toBe('2');
    // Both runs measured size and perplexity: the frontier is drawn over them.
    await page.getByTestId('sweep-front-chart').waitFor();
    const count = await page.getByTestId('sweep-front-count').innerText();
    const { pareto } = await graphql<{ pareto: { frontier: unknown[]; dominated: unknown[] } }>(
      stack.graphqlUrl,
      'query($s: ID!) { pareto(sweepId: $s, x: "size.bytes", y: "perplexity") { frontier { run { id } } dominated { run { id } } } }',
      { s: sweepId },
      ws.token,
    );
    expect(pareto.frontier.length + pareto.dominated.length).toBe(2);
    expect(count).toContain(`${pareto.frontier.length} on the frontier`);
    expect(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected)).toBeUndefined();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sweep-desktop.png'), fullPage: true });

    // The project's sweeps list shows it finished.
    await page.goto(`${webUrl}/projects/${ws.projectId}/sweeps`);
    await expect.poll(() => page.locator('[data-testid="sweep-row"]').getAttribute('data-status')).toBe('done');
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sweeps-phone.png'), fullPage: true });
    await page.close();
  }, 400_000);
});
