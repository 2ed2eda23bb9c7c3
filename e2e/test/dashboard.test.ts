/**
 * The dashboard in a real browser (Debian Chromium driven by playwright-core) against a
 * live stack: sign up, create a team and a project, upload a model with its tokenizer,
 * start an int8 run from the form prefilled with the schema's defaults, and watch it
 * succeed with its metrics (perplexity included) shown, its run page following it live from
 * subscription events over the page's WebSocket (no polling fallback); then a short fine-tune whose loss
 * curve the run page plots, and the Cancel button on a queued and on a running run.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCell } from '../../apps/web/client/metric-format';
import { graphql, startWorkerProcess, type Service } from '@distillery/services';
import { buildSmallDemoModel } from '../src/demo-model';
import { uniqueEmail } from '../src/scenario';
import { startStack, type Stack } from '../src/stack';
import { launchChromium, SCREENSHOTS } from '../src/browser';

const RESULTS = SCREENSHOTS;

let stack: Stack;
let browser: Browser;
let page: Page;
/** Shared by the tests below, which continue one session. */
let projectUrl = '';
/** A session of the browser's user, for reading what the API recorded (the browser's own is in an httpOnly cookie). */
let apiToken = '';
/** Replaces the stack's worker, which is stopped while a run page subscribes. */
let worker: Service | undefined;

interface RunEventFrame {
  kind: string;
  runId: string;
  status: string | null;
  progress: number | null;
}

/** The run events in graphql-ws `next` frames the page received. */
function runEventsIn(frames: string[]): RunEventFrame[] {
  return frames.flatMap((f) => {
    const message = JSON.parse(f) as { type: string; payload?: { data?: { runEvents?: RunEventFrame } } };
    const event = message.type === 'next' ? message.payload?.data?.runEvents : undefined;
    return event ? [event] : [];
  });
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
});
afterAll(async () => {
  await browser?.close();
  await worker?.stop('SIGTERM');
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
    expect(await page.locator('#base-model option').first().textContent()).toBe('tiny-demo (project base)');

    // A file that is not a model: the list shows the failed import with the worker's reason,
    // and it is not offered as a base model.
    await page.setInputFiles('#model-file', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('not an onnx model at all') });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.locator('[data-testid="model-status"][data-status="failed"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('model-error').textContent()).toMatch(/not a usable ONNX model/);
    expect(await page.locator('#base-model option').count()).toBe(1);

    // Choosing a technique builds the parameters form from the API's schema, prefilled with its defaults.
    await page.selectOption('#technique', 'quantize.rtn-int8');
    await expect.poll(() => page.inputValue('#param-minSize')).toBe('0');
    expect(await page.locator('[data-param="minSize"] .hint').textContent()).toContain('default 0');
    await page.getByTestId('view-json').click();
    expect(JSON.parse(await page.inputValue('#params'))).toEqual({ skip: [], minSize: 0 });
    await page.getByTestId('view-form').click();

    // A value out of range is named beside its field, and nothing is started.
    await page.fill('#param-minSize', '-1');
    expect(await page.locator('[data-testid="param-error"][data-path="minSize"]').textContent()).toContain('minSize must be at least 0');
    expect(await page.getAttribute('#param-minSize', 'aria-invalid')).toBe('true');
    await page.getByRole('button', { name: 'Start run' }).click();
    expect(await page.getByTestId('run-row').count()).toBe(0);
    await page.fill('#param-minSize', '0');
    expect(await page.getByTestId('param-error').count()).toBe(0);
    // Without a worker the run waits queued until its page has subscribed, so the page sees all of it.
    await stack.worker.stop('SIGTERM');
    await page.getByRole('button', { name: 'Start run' }).click();
    const row = page.getByTestId('run-row').first();
    const runId = (await row.getAttribute('data-run-id'))!;

    // The run page follows the run from events over its WebSocket (relayed by the dashboard to the API).
    const frames: string[] = [];
    page.on('websocket', (socket) => socket.on('framereceived', (f) => frames.push(String(f.payload))));
    await page.goto(`${web}/runs/${runId}`);
    await page.locator('[data-testid="live-state"][data-state="live"]').waitFor();
    worker = await startWorkerProcess({ databaseUrl: stack.db.url, artifactsDir: stack.artifactsDir, threads: 1, extraEnv: { WORKER_POLL_INTERVAL_MS: '500' } });
    await page.locator('.page-head [data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const events = runEventsIn(frames);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.runId === runId)).toBe(true);
    expect(events.filter((e) => e.kind === 'status').map((e) => e.status)).toEqual(['running', 'succeeded']);
    expect(events.filter((e) => e.kind === 'step').map((e) => e.status)).toEqual(['running', 'succeeded']);
    expect(events.some((e) => e.kind === 'progress' && (e.progress ?? 0) > 0)).toBe(true);
    // No subscription failed over to polling on the way.
    expect(await page.getByTestId('run-live').getAttribute('data-transport')).toBe('subscription');
    await page.goto(projectUrl);

    await row.locator('[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const ratioText = await row.locator('[data-metric="ratio.size"]').innerText();
    expect(ratioText).toMatch(/^0\.\d{3}×$/);
    // The tokenizer made perplexity possible: a number, not the dash of a skipped evaluation.
    const pplText = await row.locator('[data-metric="perplexity"]').innerText();
    expect(pplText).toMatch(/^\d[\d,]*(\.\d+)?$/);

    // The figure shown is the one the API recorded.
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
    expect(pplText).toBe(formatCell('perplexity', ppl));

    // The size/quality trade-off plot: the run (alone, so on the frontier), and its base model as a point of its own.
    await page.getByTestId('tradeoff-slot').scrollIntoViewIfNeeded();
    const tradeoff = page.getByTestId('tradeoff-chart');
    // Drawn once the API's pareto answer is in.
    await tradeoff.getByTestId('tradeoff-canvas').waitFor();
    expect(await tradeoff.getByTestId('tradeoff-canvas').isVisible()).toBe(true);
    const points = tradeoff.getByTestId('tradeoff-point');
    expect(await points.count()).toBe(2);
    const runPoint = tradeoff.locator(`[data-testid="tradeoff-point"][data-kind="run"][data-key="${runId}"]`);
    expect(await runPoint.textContent()).toContain('quantize.rtn-int8');
    expect(await runPoint.getAttribute('data-frontier')).toBe('yes');
    expect(await tradeoff.locator('[data-testid="tradeoff-point"][data-kind="base"]').textContent()).toContain('tiny-demo (base model)');
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-project.png'), fullPage: true });

    // The run page leads with base model against output; the size ratio is the recorded one.
    await row.getByRole('link', { name: 'quantize.rtn-int8' }).click();
    await page.waitForURL(`**/runs/${runId}`);
    const sizeChange = page.locator('[data-testid="run-summary"] tr[data-key="sizeBytes"] [data-cell="change"]');
    await sizeChange.waitFor();
    expect(await sizeChange.textContent()).toContain(`(${ratio.toFixed(3)}×)`);
    expect(await page.locator('[data-testid="run-summary"] tr[data-key="sizeBytes"]').getAttribute('data-verdict')).toBe('better');
    expect(await page.getByTestId('run-params').textContent()).toContain('quantize.rtn-int8: skip=[], minSize=0');
    // The produced model is a link, with a download.
    const href = (await page.getByTestId('download-model').getAttribute('href')) ?? '';
    expect(href).toMatch(/^\/models\/[0-9a-f-]{36}\/download$/);
    // The download goes through the dashboard with the browser's session cookie.
    const download = await page.request.get(`${web}${href}`);
    expect(download.status()).toBe(200);
    expect(download.headers()['content-disposition']).toMatch(/^attachment; filename="[A-Za-z0-9._-]+\.onnx"$/);
    const { run: produced } = await graphql<{ run: { outputModel: { bytes: number } } }>(stack.graphqlUrl, 'query($id: ID!) { run(id: $id) { outputModel { bytes } } }', { id: runId }, apiToken);
    expect((await download.body()).length).toBe(produced.outputModel.bytes);
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-run.png'), fullPage: true });
  });

  it('plots a fine-tune loss curve and cancels a queued and a running run', async () => {
    expect(projectUrl).not.toBe('');
    await page.goto(projectUrl);
    await page.getByTestId('params-form').waitFor();
    await page.getByTestId('new-run-form').screenshot({ path: path.join(RESULTS, 'dashboard-new-run.png') });

    // A few training steps: the worker records steps.0.train.loss as a series.
    await page.selectOption('#technique', 'finetune.recover');
    await page.getByTestId('view-json').click();
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
    // The chart was given every recorded point.
    expect(await page.locator('[data-testid="line-chart"][data-series="steps.0.train.loss"]').getAttribute('data-points')).toBe(String(steps.length));
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-series.png'), fullPage: true });

    // The worker runs one run at a time: a long fine-tune runs, the next one waits queued.
    await page.goto(projectUrl);
    await page.selectOption('#technique', 'finetune.recover');
    await page.getByTestId('view-json').click();
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
