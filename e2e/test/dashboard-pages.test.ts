/**
 * The dashboard's pages in a real browser against a live stack with many runs: the runs
 * list (pages from the API's cursor, virtualized rows, sorting, column picker, parameters
 * per run), its filters answered by the API and kept in the link (status, family, tags,
 * step parameter, metric range, sweep), the trade-off chart's points and frontier as the API's
 * `pareto` decides them over the same filters, the compare page from `compareRuns` with a chosen baseline, the run page's
 * summary and samples, the paged models list, the sign-in page, phone layout without
 * horizontal scrolling, keyboard use, and text people typed never rendered as HTML.
 * Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS, openSignedIn } from '../src/browser';
import { createWorkspace, type Workspace } from '../src/scenario';
import { seedFinishedRuns } from '../src/seed-runs';
import { startStack, type Stack } from '../src/stack';
import { graphql } from '@distillery/services';

const SEEDED = 250;
const HOSTILE = '<img src=x onerror="window.__injected=1">';

let stack: Stack;
let browser: Browser;
let ws: Workspace;
let seededIds: string[];
let failedRunId: string;
let sweepId: string;
/** The seeded runs tagged "keep", and those of them with a perplexity at most `pplCut`. */
let keptIds: string[];
let pplCut: number;
let keptBelowCut: string[];
const SWEPT = [10, 11, 12, 13, 14];

async function apiFrontier(
  x: string,
  y: string,
  scope: { projectId?: string; sweepId?: string; runIds?: string[]; filter?: Record<string, unknown> },
): Promise<{ frontier: string[]; dominated: string[]; dominators: Record<string, number> }> {
  const q = `query($p: ID, $s: ID, $x: String!, $y: String!, $r: [ID!], $f: RunFilter) { pareto(projectId: $p, sweepId: $s, x: $x, y: $y, runIds: $r, filter: $f) { frontier { run { id } } dominated { run { id } dominatedBy } } }`;
  const { pareto } = await graphql<{ pareto: { frontier: { run: { id: string } }[]; dominated: { run: { id: string }; dominatedBy: string[] }[] } }>(
    stack.graphqlUrl,
    q,
    { p: scope.projectId ?? null, s: scope.sweepId ?? null, x, y, r: scope.runIds ?? null, f: scope.filter ?? null },
    ws.token,
  );
  return {
    frontier: pareto.frontier.map((f) => f.run.id).sort(),
    dominated: pareto.dominated.map((f) => f.run.id).sort(),
    // From the id lists, to check the count the chart asks for against them.
    dominators: Object.fromEntries(pareto.dominated.map((d) => [d.run.id, d.dominatedBy.length])),
  };
}

/** The runs the trade-off chart plots (its table of points), sorted. */
async function plottedRunIds(page: Page): Promise<string[]> {
  return page.getByTestId('tradeoff-chart').locator('[data-testid="tradeoff-point"][data-kind="run"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')!).sort());
}

async function shownRunIds(page: Page): Promise<string[]> {
  return (await Promise.all((await page.getByTestId('run-row').all()).map((r) => r.getAttribute('data-run-id')))).map(String).sort();
}

function signedInPage(viewport: { width: number; height: number }): Promise<Page> {
  return openSignedIn(browser, stack.webUrl!, ws, viewport);
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
  // Eight tagged runs (the cut is their median perplexity) and five runs of one sweep, for the server-side filters.
  keptIds = seededIds.slice(20, 28);
  await prisma.run.updateMany({ where: { id: { in: keptIds } }, data: { tags: ['keep'] } });
  const ppl = await prisma.metric.findMany({ where: { runId: { in: keptIds }, name: 'perplexity', runStepId: null }, select: { runId: true, value: true } });
  pplCut = [...ppl.map((m) => m.value)].sort((a, b) => a - b)[3]!;
  keptBelowCut = ppl.filter((m) => m.value <= pplCut).map((m) => m.runId).sort();
  const sweep = await prisma.sweep.create({
    data: { projectId: ws.projectId, baseModelId: ws.modelId, name: 'bits sweep', mode: 'grid', recipe: {}, space: {}, maxRuns: 5, parallelism: 1, seed: 0, status: 'done' },
  });
  sweepId = sweep.id;
  await prisma.run.updateMany({ where: { id: { in: SWEPT.map((i) => seededIds[i]!) } }, data: { sweepId } });
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

    // The technique-family filter asks the API too: no run prunes; the seeded runs quantize.
    await page.getByTestId('filter-status').selectOption('');
    await expect.poll(() => count.textContent()).toBe('50 runs loaded, more on the server');
    await page.getByTestId('filter-family').selectOption('prune');
    await expect.poll(() => page.getByTestId('runs-empty').textContent()).toBe('No run matches these filters.');
    expect(new URL(page.url()).searchParams.get('family')).toBe('prune');
    await page.getByTestId('filter-family').selectOption('quantize');
    await expect.poll(() => count.textContent()).toBe('50 runs loaded, more on the server');
    await page.close();
  });

  it('filters on the server by tags, step parameter, metric range and sweep, and the link carries the filters', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    const count = page.getByTestId('runs-count');
    await expect.poll(() => count.textContent()).toBe('50 runs loaded, more on the server');
    // Unfiltered, the trade-off plots every seeded run (the failed one has no figures). The chart
    // loads once its place is on screen; the page's bottom is below it.
    await page.getByTestId('tradeoff-slot').scrollIntoViewIfNeeded();
    await expect.poll(async () => (await plottedRunIds(page)).length, { timeout: 20_000 }).toBe(SEEDED);

    // Tags: exactly the eight tagged runs, in the list and in the trade-off.
    await page.getByTestId('filter-tags').fill('keep');
    await page.getByTestId('filter-apply').click();
    await expect.poll(() => count.textContent()).toBe('8 runs loaded');
    expect(await shownRunIds(page)).toEqual([...keptIds].sort());
    await expect.poll(() => plottedRunIds(page), { timeout: 20_000 }).toEqual([...keptIds].sort());

    // A perplexity range on top: exactly the tagged runs at or under the cut (the API reads the latest values).
    await page.getByTestId('filter-range-metric').selectOption('perplexity');
    await page.getByTestId('filter-range-max').fill(String(pplCut));
    await page.getByTestId('filter-apply').click();
    await expect.poll(() => count.textContent()).toBe(`${keptBelowCut.length} runs loaded`);
    expect(await shownRunIds(page)).toEqual(keptBelowCut);
    expect(await page.getByTestId('filter-chip').allTextContents()).toEqual(['tag keep ✕', expect.stringMatching(/^Perplexity.* ≤ \d+\.\d+ ✕$/)]);
    // The trade-off follows both filters, and its frontier is the API's over the same filter.
    await expect.poll(() => plottedRunIds(page), { timeout: 20_000 }).toEqual(keptBelowCut);
    const filteredFront = await apiFrontier('size.bytes', 'perplexity', { projectId: ws.projectId, filter: { tags: ['keep'], metrics: [{ name: 'perplexity', max: pplCut }] } });
    expect([...filteredFront.frontier, ...filteredFront.dominated].sort()).toEqual(keptBelowCut);
    expect(
      await page.getByTestId('tradeoff-chart').locator('[data-testid="tradeoff-point"][data-frontier="yes"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')!).sort()),
    ).toEqual(filteredFront.frontier);

    // The link carries the filters: opened afresh it shows the same runs.
    const link = page.url();
    expect(new URL(link).searchParams.get('tags')).toBe('keep');
    expect(new URL(link).searchParams.getAll('range')).toEqual([`perplexity::${pplCut}`]);
    const shared = await signedInPage(DESKTOP);
    await shared.goto(link);
    await expect.poll(() => shared.getByTestId('runs-count').textContent()).toBe(`${keptBelowCut.length} runs loaded`);
    expect(await shownRunIds(shared)).toEqual(keptBelowCut);
    await shared.close();

    // A step parameter instead of the range: the tagged runs whose step has that bit width.
    const bitsOf = new Map(
      (await stack.db.prisma.runStep.findMany({ where: { runId: { in: keptIds } }, select: { runId: true, params: true } })).map((st) => [st.runId, (st.params as { bits: number }).bits]),
    );
    const bits = bitsOf.get(keptIds[0]!)!;
    await page.getByRole('button', { name: /Remove the filter Perplexity/ }).click();
    await expect.poll(() => new URL(page.url()).searchParams.getAll('range')).toEqual([]);
    await page.getByTestId('filter-param').fill(`bits=${bits}`);
    await page.getByTestId('filter-apply').click();
    const withBits = keptIds.filter((id) => bitsOf.get(id) === bits).sort();
    await expect.poll(() => count.textContent()).toBe(`${withBits.length} runs loaded`);
    expect(await shownRunIds(page)).toEqual(withBits);
    expect(new URL(page.url()).searchParams.get('param')).toBe(`bits=${bits}`);

    // A bad bound is named, not sent.
    await page.getByTestId('filter-range-metric').selectOption('perplexity');
    await page.getByTestId('filter-range-min').fill('lots');
    await page.getByTestId('filter-apply').click();
    expect(await page.getByTestId('filter-error').textContent()).toBe('The minimum must be a number.');

    // The sweep alone: its five runs, and the trade-off becomes the sweep's (the API's frontier of them).
    await page.getByTestId('filter-clear').click();
    await expect.poll(() => count.textContent()).toBe('50 runs loaded, more on the server');
    await page.getByTestId('filter-sweep').selectOption(sweepId);
    await expect.poll(() => count.textContent()).toBe('5 runs loaded');
    expect(await shownRunIds(page)).toEqual(SWEPT.map((i) => seededIds[i]!).sort());
    const chart = page.getByTestId('tradeoff-chart');
    await page.getByTestId('tradeoff-slot').scrollIntoViewIfNeeded();
    await expect.poll(() => chart.locator('[data-testid="tradeoff-point"][data-kind="run"]').count()).toBe(5);
    const api = await apiFrontier('size.bytes', 'perplexity', { sweepId });
    const drawn = await chart.locator('[data-testid="tradeoff-point"][data-frontier="yes"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')!).sort());
    expect(drawn).toEqual(api.frontier);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'runs-filtered-desktop.png'), fullPage: true });
    await page.close();
  });

  it('draws the trade-off with its Pareto frontier and opens a frontier run', async () => {
    const page = await signedInPage(DESKTOP);
    await page.goto(`${stack.webUrl}/projects/${ws.projectId}`);
    await page.getByTestId('run-row').first().waitFor();
    // The chart is drawn once it scrolls into view.
    await page.getByTestId('tradeoff-slot').scrollIntoViewIfNeeded();
    const chart = page.getByTestId('tradeoff-chart');
    await chart.getByTestId('tradeoff-canvas').waitFor();
    // Every seeded run of the project (the failed one has no figures) plus the base model.
    await expect.poll(() => chart.getByTestId('tradeoff-point').count()).toBe(SEEDED + 1);
    expect(await chart.locator('[data-testid="tradeoff-point"][data-kind="base"]').count()).toBe(1);
    const frontier = chart.locator('[data-testid="tradeoff-point"][data-frontier="yes"]');
    const keys = () => frontier.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')!).sort());
    // The frontier drawn is the API's, and every other run is one the API found dominated.
    const sizePpl = await apiFrontier('size.bytes', 'perplexity', { projectId: ws.projectId });
    expect(sizePpl.frontier.length).toBeGreaterThan(0);
    expect(sizePpl.frontier.length).toBeLessThan(SEEDED);
    expect(await keys()).toEqual(sizePpl.frontier);
    expect(await chart.locator('[data-testid="tradeoff-point"][data-kind="run"][data-frontier="no"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')!).sort())).toEqual(
      sizePpl.dominated,
    );
    // Each dominated run's "dominated by N" is the length of the API's list of its dominators.
    const counts = await chart
      .locator('[data-testid="tradeoff-point"][data-kind="run"][data-frontier="no"]')
      .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-key')!, r.querySelectorAll('td')[3]?.textContent ?? '']));
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(Object.entries(sizePpl.dominators).map(([id, n]) => [id, `dominated by ${n}`])));
    expect(Object.values(sizePpl.dominators).some((n) => n > 1)).toBe(true);
    // Switching the y metric to top-1 agreement (higher is better) asks the API again.
    await chart.getByTestId('tradeoff-y').selectOption('divergence.top1');
    await expect.poll(() => chart.locator('th').nth(2).textContent()).toBe('Top-1 agreement with the base');
    const sizeTop1 = await apiFrontier('size.bytes', 'divergence.top1', { projectId: ws.projectId });
    expect(sizeTop1.frontier).not.toEqual(sizePpl.frontier);
    await expect.poll(keys).toEqual(sizeTop1.frontier);
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
    for (let i = 0; i < 30 && !(await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'select-run')); i++) await page.keyboard.press('Tab');
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
    const chosen = (await page.getByTestId('compare-runs').locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!.split('/').pop()!)));
    const apiDeltas = async (baseline: string | null) => {
      const { compareRuns } = await graphql<{ compareRuns: { metrics: { name: string; cells: { delta: number | null }[] }[] } }>(
        stack.graphqlUrl,
        'query($ids: [ID!]!, $b: ID) { compareRuns(ids: $ids, baseline: $b) { metrics { name cells { delta } } } }',
        { ids: chosen, b: baseline },
        ws.token,
      );
      return compareRuns.metrics.find((m) => m.name === 'perplexity')!.cells.map((c) => c.delta);
    };
    const shownDeltas = () => table.locator('tr[data-metric="perplexity"] td').evaluateAll((tds) => tds.map((td) => td.querySelector('[data-testid="delta"]')?.getAttribute('data-delta') ?? null).map((d) => (d === null ? null : Number(d))));
    // By default each run against its own base model: the API's differences, on every run.
    expect(await shownDeltas()).toEqual(await apiDeltas(null));
    expect((await shownDeltas()).every((d) => d !== null && d > 0)).toBe(true);
    expect(await table.locator('tr[data-metric="perplexity"] td.best').count()).toBeGreaterThanOrEqual(1);
    // The first run as the baseline: the others against it (the API's deltas), the baseline itself without one; the link keeps it.
    await page.getByTestId('baseline-run').first().check();
    await page.waitForURL(`**/compare?runs=*&baseline=${chosen[0]}`);
    const againstFirst = await apiDeltas(chosen[0]!);
    await expect.poll(shownDeltas, { timeout: 20_000 }).toEqual([null, againstFirst[1], againstFirst[2]]);
    expect(await table.locator('th').nth(1).textContent()).toBe('#1 (baseline)');
    // The newest seeded run (index 0) has a loss curve: it is drawn once in view.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.locator('[data-testid="line-chart"][data-series="steps.0.train.loss"]').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'compare-desktop.png'), fullPage: true });

    // A link with 100 runs, the most the page compares.
    const hundred = seededIds.slice(0, 100).join(',');
    await page.goto(`${stack.webUrl}/compare?runs=${hundred}`);
    await page.getByTestId('compare-metrics').waitFor();
    expect(await page.locator('[data-testid="compare-metrics"] tr[data-metric="perplexity"] td').count()).toBe(100);
    // The comparison's trade-off is the API's frontier of these 100 runs.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const cmpChart = page.getByTestId('tradeoff-chart');
    await expect.poll(() => cmpChart.locator('[data-testid="tradeoff-point"][data-kind="run"]').count()).toBe(100);
    const cmpApi = await apiFrontier('size.bytes', 'perplexity', { projectId: ws.projectId, runIds: seededIds.slice(0, 100) });
    expect(await cmpChart.locator('[data-testid="tradeoff-point"][data-frontier="yes"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')!).sort())).toEqual(cmpApi.frontier);
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
