/**
 * The dashboard in a real browser (Debian Chromium driven by playwright-core) against a
 * live stack: sign up, create a team and a project, upload a model with its tokenizer,
 * start an int8 run from the form prefilled with the schema's defaults, and watch it
 * succeed with its metrics (perplexity included) shown; then a short fine-tune whose loss
 * curve the run page plots, and the Cancel button on a queued and on a running run.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMetric } from '../../apps/web/client/format';
import { graphql } from '@distillery/services';
import { buildSmallDemoModel } from '../src/demo-model';
import { uniqueEmail } from '../src/scenario';
import { REPO_ROOT } from '@distillery/services';
import { startStack, type Stack } from '../src/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RESULTS = path.join(REPO_ROOT, 'e2e', 'test-results');

let stack: Stack;
let browser: Browser;
let page: Page;
/** Shared by the tests below, which continue one session. */
let projectUrl = '';
/** A session of the browser's user, for reading what the API recorded (the browser's own is in an httpOnly cookie). */
let apiToken = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  await mkdir(RESULTS, { recursive: true });
  stack = await startStack({ web: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('dashboard', () => {
  it('signs up, starts an int8 run from the form and shows it succeed with metrics', async () => {
    const web = stack.webUrl!;
    const email = uniqueEmail('browser');

    // Signed out: the home page sends us to sign-in; switch to sign-up.
    await page.goto(`${web}/`);
    await page.waitForURL('**/signin');
    await page.getByRole('button', { name: 'Create one' }).click();
    await page.fill('#name', 'Browser User');
    await page.fill('#email', email);
    await page.fill('#password', 'correct horse battery staple');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${web}/`);
    const signedIn = await graphql<{ signIn: { token: string } }>(stack.graphqlUrl, 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery staple") { token } }', { e: email });
    apiToken = signedIn.signIn.token;

    await page.getByLabel('Team name').fill('Browser Lab');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByLabel('Project name').fill('int8-from-ui');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: 'int8-from-ui' }).click();
    await page.waitForURL('**/projects/*');

    projectUrl = page.url();

    // A model with its tokenizer, so the run can score perplexity.
    const demo = buildSmallDemoModel();
    expect(await page.getByTestId('tokenizer-hint').textContent()).toContain("can't report perplexity");
    await page.setInputFiles('#model-file', { name: 'tiny-demo.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(demo.onnx) });
    await page.setInputFiles('#tokenizer-file', { name: 'tokenizer.json', mimeType: 'application/json', buffer: Buffer.from(demo.tokenizerJson) });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    // A worker validates the import; the models list follows it to ready.
    await page.locator('[data-testid="model-status"][data-status="ready"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('#base-model option').count()).toBe(1);
    expect(await page.locator('#base-model option').first().textContent()).toBe('tiny-demo');

    // A file that is not a model: the list shows the failed import with the worker's reason,
    // and it is not offered as a base model.
    await page.setInputFiles('#model-file', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('not an onnx model at all') });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.locator('[data-testid="model-status"][data-status="failed"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('model-error').textContent()).toMatch(/not a usable ONNX model/);
    expect(await page.locator('#base-model option').count()).toBe(1);

    // Choosing a technique prefills its defaults from the API's parameter schema and lists them.
    await page.selectOption('#technique', 'quantize.rtn-int8');
    await expect.poll(() => page.inputValue('#params')).toBe(JSON.stringify({ skip: [], minSize: 0 }, null, 2));
    expect(await page.locator('[data-testid="params-list"] tr[data-param="minSize"]').textContent()).toContain('= 0');

    // What the user edits is sent as is; the API's error names the field beside the parameters.
    await page.fill('#params', '{"minSize": -1}');
    await page.getByRole('button', { name: 'Start run' }).click();
    expect(await page.getByTestId('params-error').textContent()).toContain('recipe.steps[0].params.minSize');
    expect(await page.getByTestId('run-row').count()).toBe(0);
    await page.fill('#params', '{"minSize": 0}');
    await page.getByRole('button', { name: 'Start run' }).click();

    // The list polls while the run is queued or running; wait for the badge to turn.
    const row = page.getByTestId('run-row').first();
    await row.locator('[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const ratioText = (await row.getByTestId('size-ratio').textContent()) ?? '';
    expect(ratioText).toMatch(/^0\.\d{3}×$/);
    // The tokenizer made perplexity possible: a number, not the dash of a skipped evaluation.
    const pplText = (await row.getByTestId('perplexity').textContent()) ?? '';
    expect(pplText).toMatch(/^\d[\d,]*(\.\d+)?$/);

    // The figure shown is the one the API recorded.
    const runId = await row.getAttribute('data-run-id');
    const { run } = await graphql<{ run: { metrics: { name: string; value: number; runStepId: string | null }[] } }>(
      stack.graphqlUrl,
      'query($id: ID!) { run(id: $id) { metrics { name value runStepId } } }',
      { id: runId },
      apiToken,
    );
    const ratio = run.metrics.find((m) => m.name === 'ratio.size' && m.runStepId === null)!.value;
    expect(ratioText).toBe(`${ratio.toFixed(3)}×`);
    const ppl = run.metrics.find((m) => m.name === 'perplexity' && m.runStepId === null)!.value;
    expect(ppl).toBeGreaterThan(1);
    expect(pplText).toBe(formatMetric('perplexity', ppl));

    // The size/quality trade-off plot: the run, and its base model as a point of its own.
    const tradeoff = page.getByTestId('tradeoff-chart');
    await tradeoff.waitFor();
    expect(await tradeoff.isVisible()).toBe(true);
    const points = tradeoff.getByTestId('tradeoff-point');
    expect(await points.count()).toBe(2);
    expect(await tradeoff.locator(`[data-testid="tradeoff-point"][data-kind="run"][data-key="${runId}"] title`).textContent()).toContain('quantize.rtn-int8');
    expect(await tradeoff.locator('[data-testid="tradeoff-point"][data-kind="base"] title').textContent()).toContain('tiny-demo (base model)');
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-project.png'), fullPage: true });

    // The run page: steps and the metrics table.
    await row.getByRole('link', { name: 'quantize.rtn-int8' }).click();
    await page.waitForURL(`**/runs/${runId}`);
    const metricRow = page.locator('[data-testid="metrics-table"] tr[data-metric="ratio.size"] td.num');
    await metricRow.waitFor();
    expect(await metricRow.textContent()).toBe(ratio.toPrecision(4));
    expect(await page.getByRole('cell', { name: 'quantize.rtn-int8' }).count()).toBe(1);
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-run.png'), fullPage: true });
  });

  it('plots a fine-tune loss curve and cancels a queued and a running run', async () => {
    expect(projectUrl).not.toBe('');
    await page.goto(projectUrl);
    await page.getByTestId('params-list').waitFor();
    await page.getByTestId('new-run-form').screenshot({ path: path.join(RESULTS, 'dashboard-new-run.png') });

    // A few training steps: the worker records steps.0.train.loss as a series.
    await page.selectOption('#technique', 'finetune.recover');
    await expect.poll(async () => JSON.parse(await page.inputValue('#params')) as Record<string, unknown>).toMatchObject({ steps: 100, batchSize: 8 });
    await page.fill('#params', JSON.stringify({ steps: 6, batchSize: 2, seqLen: 32, warmup: 1 }));
    await page.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => page.getByTestId('run-row').count()).toBe(2);
    const tuned = page.getByTestId('run-row').first();
    await tuned.locator('[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    await tuned.getByRole('link', { name: 'finetune.recover' }).click();
    const chart = page.getByRole('img', { name: 'steps.0.train.loss over steps' });
    await chart.waitFor();
    // One vertex per recorded point (M, then an L for each further one), steps 1..6.
    const { run } = await graphql<{ run: { metricSeries: { step: number | null }[] } }>(
      stack.graphqlUrl,
      'query($id: ID!) { run(id: $id) { metricSeries(name: "steps.0.train.loss") { step } } }',
      { id: page.url().split('/').pop() },
      apiToken,
    );
    const steps = run.metricSeries.map((p) => p.step);
    expect(steps.length).toBeGreaterThan(1);
    expect(steps.at(-1)).toBe(6);
    const d = (await chart.locator('path.chart-line').getAttribute('d')) ?? '';
    expect(d.match(/[ML]/g)?.length).toBe(steps.length);
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-series.png'), fullPage: true });

    // The worker runs one run at a time: a long fine-tune runs, the next one waits queued.
    await page.goto(projectUrl);
    await page.selectOption('#technique', 'finetune.recover');
    await expect.poll(() => page.inputValue('#params')).toContain('"steps": 100,');
    for (let i = 0; i < 2; i++) {
      await page.fill('#params', JSON.stringify({ steps: 100_000, batchSize: 2, seqLen: 32 }));
      await page.getByRole('button', { name: 'Start run' }).click();
      await expect.poll(() => page.getByTestId('run-row').count()).toBe(3 + i);
    }
    const [queued, running] = [page.getByTestId('run-row').nth(0), page.getByTestId('run-row').nth(1)];
    await running.locator('[data-status="running"]').waitFor({ timeout: 60_000 });
    expect(await queued.locator('[data-status="queued"]').count()).toBe(1);

    // A queued run is canceled at once.
    await queued.getByTestId('cancel-run').click();
    await queued.locator('[data-status="canceled"]').waitFor();
    expect(await queued.getByTestId('cancel-run').count()).toBe(0);

    // A running run stops at the worker's next safe point; the run page shows it turn.
    const runningId = (await running.getAttribute('data-run-id'))!;
    await page.goto(`${stack.webUrl!}/runs/${runningId}`);
    await page.getByTestId('cancel-run').waitFor();
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-running.png') });
    await page.getByTestId('cancel-run').click();
    await page.locator('.page-head [data-status="canceled"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('cancel-run').count()).toBe(0);
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-canceled.png'), fullPage: true });
  }, 240_000);
});
