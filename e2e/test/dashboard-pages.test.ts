/**
 * The dashboard's pages in a real browser against a live stack with many runs: the runs
 * list (pages from the API's cursor, virtualized rows, filters, sorting, column picker,
 * parameters per run), the trade-off chart's frontier, the compare page, the run page's
 * summary and samples, the paged models list, the sign-in page, phone layout without
 * horizontal scrolling, keyboard use, and text people typed never rendered as HTML.
 * Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS } from '../src/browser';
import { createWorkspace, type Workspace } from '../src/scenario';
import { seedFinishedRuns } from '../src/seed-runs';
import { startStack, type Stack } from '../src/stack';

const SEEDED = 250;
const HOSTILE = '<img src=x onerror="window.__injected=1">';

let stack: Stack;
let browser: Browser;
let ws: Workspace;
let seededIds: string[];
let failedRunId: string;

async function signedInPage(viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(30_000);
  await page.goto(`${stack.webUrl}/signin`);
  await page.fill('#email', ws.email);
  await page.fill('#password', ws.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.webUrl}/`);
  return page;
}

async function noHorizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  ws = await createWorkspace(stack.apiUrl, 'pages');
  const prisma = stack.db.prisma;
  seededIds = await seedFinishedRuns(prisma, { projectId: ws.projectId, baseModelId: ws.modelId, count: SEEDED, newest: new Date(Date.now() - 60_000) });
  // A failed run whose error carries markup: it must show as text.
  const failed = await prisma.run.create({
    data: { projectId: ws.projectId, baseModelId: ws.modelId, recipe: { steps: [{ technique: 'quantize.rtn', params: { bits: 2 } }] }, status: 'failed', seed: 0, error: `${HOSTILE} ran out of memory`, finishedAt: new Date() },
  });
  failedRunId = failed.id;
  // More models than one page of the models list, imported after the project's base.
  const base = await prisma.model.findUniqueOrThrow({ where: { id: ws.modelId } });
  await prisma.model.createMany({
    data: Array.from({ length: 11 }, (_, i) => ({
      teamId: base.teamId,
      projectId: ws.projectId,
      name: i === 0 ? `${HOSTILE} a very long model name that goes on and on without any break at all_${'x'.repeat(60)}` : `later-${i}`,
      format: base.format,
      sha256: base.sha256,
      bytes: base.bytes,
      parameterCount: base.parameterCount,
      storagePath: base.storagePath,
      createdAt: new Date(Date.now() + i * 1000),
    })),
  });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('dashboard pages', () => {
  it('tells a newcomer what Distillery is on the sign-in page', async () => {
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    await page.waitForURL('**/signin');
    const pitch = (await page.locator('.pitch').innerText()).toLowerCase();
    for (const word of ['compress', 'measure', 'compare', 'onnx']) expect(pitch).toContain(word);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'signin-desktop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'signin-phone.png'), fullPage: true });
    await page.close();
  });

  it('lists runs a page at a time in virtualized rows, with parameters, filters, sorting and columns', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    const count = page.getByTestId('runs-count');
    await expect.poll(() => count.textContent()).toBe('50 runs loaded, more on the server');
    // Only the rows in view are in the DOM.
    const inDom = await page.getByTestId('run-row').count();
    expect(inDom).toBeGreaterThan(5);
    expect(inDom).toBeLessThan(60);
    // Runs of one technique read apart: their non-default parameters are shown.
    expect(await page.getByTestId('run-params').first().textContent()).toMatch(/bits=|groupSize=|symmetric=/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'runs-desktop.png'), fullPage: true });

    // Scrolling to the end fetches the next pages from the API's cursor.
    for (const expected of ['150 runs loaded, more on the server', '250 runs loaded, more on the server', `${SEEDED + 1} runs loaded`]) {
      await page.getByTestId('runs-scroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await expect.poll(() => count.textContent(), { timeout: 20_000 }).toBe(expected);
    }

    // Sorting by perplexity, lowest first, then highest first.
    const ppl = async () => Promise.all((await page.locator('[data-testid="run-row"] [data-metric="perplexity"]').all()).slice(0, 5).map(async (c) => Number((await c.innerText()).replace(/,/g, ''))));
    await page.getByTestId('runs-scroll').evaluate((el) => el.scrollTo(0, 0));
    await page.locator('[data-sort-key="metric:perplexity"]').click();
    const ascending = await ppl();
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    await page.locator('[data-sort-key="metric:perplexity"]').click();
    const descending = await ppl();
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    expect(descending[0]!).toBeGreaterThan(ascending[0]!);

    // The column picker adds a catalogue metric as a column.
    expect(await page.locator('[data-testid="run-row"] [data-metric="divergence.top1"]').count()).toBe(0);
    await page.getByTestId('column-picker').locator('summary').click();
    await page.locator('[data-column="divergence.top1"]').check();
    await page.getByTestId('column-picker').locator('summary').click();
    expect(await page.locator('[data-testid="run-row"] [data-metric="divergence.top1"]').first().innerText()).toMatch(/^\d+\.\d %$/);

    // The status filter asks the API; the failed run's error shows as text, never as markup.
    await page.getByTestId('filter-status').selectOption('failed');
    await expect.poll(() => count.textContent()).toBe('1 runs loaded');
    const failedRow = page.getByTestId('run-row');
    expect(await failedRow.getAttribute('data-run-id')).toBe(failedRunId);
    expect(await failedRow.locator('.run-error').textContent()).toBe(`${HOSTILE} ran out of memory`);
    expect(await failedRow.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __injected?: number }).__injected)).toBeUndefined();

    // The technique-family filter.
    await page.getByTestId('filter-status').selectOption('');
    await expect.poll(() => count.textContent()).toBe('50 runs loaded, more on the server');
    await page.getByTestId('filter-family').selectOption('prune');
    expect(await page.getByText('No loaded run uses a prune technique.').count()).toBe(1);
    await page.getByTestId('filter-family').selectOption('quantize');
    expect(await page.getByTestId('run-row').count()).toBeGreaterThan(5);
    await page.close();
  });

  it('draws the trade-off with its Pareto frontier and opens a frontier run', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('run-row').first().waitFor();
    // The chart is drawn once it scrolls into view.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const chart = page.getByTestId('tradeoff-chart');
    await chart.getByTestId('tradeoff-canvas').waitFor();
    // The 49 succeeded runs of the first page (the newest run failed) plus the base model.
    expect(await chart.getByTestId('tradeoff-point').count()).toBe(50);
    const frontier = chart.locator('[data-testid="tradeoff-point"][data-frontier="yes"]');
    const onFrontier = await frontier.count();
    expect(onFrontier).toBeGreaterThan(0);
    expect(onFrontier).toBeLessThan(49);
    // Switching the y metric to top-1 agreement (higher is better) moves the frontier.
    await chart.getByTestId('tradeoff-y').selectOption('divergence.top1');
    await expect.poll(() => chart.locator('th').nth(2).textContent()).toBe('Top-1 agreement with the base');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'tradeoff-desktop.png'), fullPage: false });
    await chart.locator('summary').click();
    const first = frontier.first();
    const runId = await first.getAttribute('data-key');
    await first.getByRole('link').click();
    await page.waitForURL(`**/runs/${runId}`);
    await page.getByTestId('run-summary').waitFor();
    await page.close();
  });

  it('compares selected runs: aligned figures with differences, recipe differences, overlaid curves', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('run-row').first().waitFor();
    // Succeeded runs only: the newest seeded ones come first.
    await page.getByTestId('filter-status').selectOption('succeeded');
    await expect.poll(() => page.getByTestId('run-row').first().getAttribute('data-run-id')).toBe(seededIds[0]);
    // Keyboard: tab to the first row's checkbox and select it with the space bar.
    await page.getByTestId('filter-family').focus();
    for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'select-run')); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    const boxes = page.getByTestId('select-run');
    expect(await boxes.first().isChecked()).toBe(true);
    await boxes.nth(1).check();
    await boxes.nth(2).check();
    await page.getByTestId('compare-selected').click();
    await page.waitForURL('**/compare?runs=*');
    const table = page.getByTestId('compare-metrics');
    await table.waitFor();
    expect(await page.getByTestId('compare-runs').locator('li').count()).toBe(3);
    const ppl = table.locator('tr[data-metric="perplexity"] td');
    expect(await ppl.count()).toBe(3);
    // Differences against the reference (the first run) on the others.
    expect(await table.locator('tr[data-metric="perplexity"] [data-testid="delta"]').count()).toBe(2);
    expect(await table.locator('tr[data-metric="perplexity"] td.best').count()).toBeGreaterThanOrEqual(1);
    // The newest seeded run (index 0) has a loss curve: it is drawn once in view.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.locator('[data-testid="line-chart"][data-series="steps.0.train.loss"]').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'compare-desktop.png'), fullPage: true });

    // A link with 100 runs, the most the page compares.
    const hundred = seededIds.slice(0, 100).join(',');
    await page.goto(`${stack.webUrl}/compare?runs=${hundred}`);
    await page.getByTestId('compare-metrics').waitFor();
    expect(await page.locator('[data-testid="compare-metrics"] tr[data-metric="perplexity"] td').count()).toBe(100);
    expect(await page.getByTestId('recipe-diff').locator('tbody tr').count()).toBeGreaterThan(0);
    // A link naming one run says what is wrong.
    await page.goto(`${stack.webUrl}/compare?runs=${seededIds[0]}`);
    expect(await page.getByTestId('page-error').textContent()).toContain('at least two runs');
    await page.close();
  });

  it('leads the run page with base vs. output, samples side by side and the details folded', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/runs/${seededIds[0]}`);
    const summary = page.getByTestId('run-summary');
    await summary.waitFor();
    expect(await summary.locator('tr[data-key="sizeBytes"]').getAttribute('data-verdict')).toBe('better');
    expect(await summary.locator('tr[data-key="sizeBytes"] [data-cell="base"]').textContent()).toBe('10.1 MB');
    expect(await summary.locator('tr[data-key="perplexity"]').getAttribute('data-verdict')).toBe('worse');
    expect(await summary.locator('tr[data-key="perplexity"] [data-cell="base"]').textContent()).toBe('49.57');
    expect(await page.getByTestId('sample').first().locator('[data-cell="base-greedy"]').textContent()).toBe(' Ishmael.');
    expect(await page.getByTestId('run-params').textContent()).toMatch(/^quantize\.rtn: bits=\d, groupSize=\d+, symmetric=(true|false)$/);
    // Details are folded: present, not shown until opened.
    expect(await page.getByTestId('metrics-table').isVisible()).toBe(false);
    await page.getByTestId('run-details').locator('summary').click();
    expect(await page.getByTestId('step-metrics-table').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'run-desktop.png'), fullPage: true });

    await page.goto(`${stack.webUrl}/runs/${failedRunId}`);
    const err = page.getByTestId('run-error');
    await err.waitFor();
    expect(await err.textContent()).toBe(`The run failed: ${HOSTILE} ran out of memory`);
    expect(await err.locator('img').count()).toBe(0);
    await page.close();
  });

  it('pages the models list and starts new runs from the project base model', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('models-list').waitFor();
    expect(await page.getByTestId('model-row').count()).toBe(10);
    await page.getByRole('navigation', { name: 'Models pages' }).getByRole('button', { name: 'Next' }).click();
    expect(await page.getByTestId('model-row').count()).toBe(2);
    // Imported later, but the runs were made on the workspace's model: it stays the default.
    await expect.poll(() => page.inputValue('#base-model')).toBe(ws.modelId);
    await page.close();
  });

  it('fits a phone: cards instead of a table, no sideways scrolling on any page', async () => {
    const page = await signedInPage(PHONE);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('run-row').first().waitFor();
    expect(await page.locator('.runs-head').isVisible()).toBe(false);
    expect(await noHorizontalOverflow(page)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'runs-phone.png'), fullPage: true });
    for (const [name, url] of [
      ['run-phone', `/runs/${seededIds[0]}`],
      ['compare-phone', `/compare?runs=${seededIds.slice(0, 3).join(',')}`],
      ['home-phone', '/'],
    ] as const) {
      await page.goto(`${stack.webUrl}${url}`);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      expect({ name, width: await noHorizontalOverflow(page) }).toEqual({ name, width: PHONE.width });
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    }
    await page.close();
  });
});
