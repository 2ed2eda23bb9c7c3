/**
 * The dashboard in a real browser (Debian Chromium driven by playwright-core) against a
 * live stack: sign up, create a team and a project, upload a model, start an int8 run
 * from the form, and watch it succeed with its metrics shown.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../src/graphql-client';
import { tinyDecoderBytes, uniqueEmail } from '../src/scenario';
import { REPO_ROOT } from '../src/services';
import { startStack, type Stack } from '../src/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RESULTS = path.join(REPO_ROOT, 'e2e', 'test-results');

let stack: Stack;
let browser: Browser;
let page: Page;

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

    await page.getByLabel('Team name').fill('Browser Lab');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByLabel('Project name').fill('int8-from-ui');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: 'int8-from-ui' }).click();
    await page.waitForURL('**/projects/*');

    await page.setInputFiles('#model-file', { name: 'tiny-decoder.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(tinyDecoderBytes()) });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect.poll(() => page.locator('#base-model option').count()).toBe(1);
    expect(await page.locator('#base-model option').first().textContent()).toBe('tiny-decoder');

    await page.selectOption('#technique', 'quantize.rtn-int8');
    await page.getByRole('button', { name: 'Start run' }).click();

    // The list polls while the run is queued or running; wait for the badge to turn.
    const row = page.getByTestId('run-row').first();
    await row.locator('[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const ratioText = (await row.getByTestId('size-ratio').textContent()) ?? '';
    expect(ratioText).toMatch(/^0\.\d{3}×$/);

    // The figure shown is the one the API recorded.
    const token = await page.evaluate(() => window.localStorage.getItem('distillery.token'));
    const runId = await row.getAttribute('data-run-id');
    const { run } = await graphql<{ run: { metrics: { name: string; value: number; runStepId: string | null }[] } }>(
      stack.graphqlUrl,
      'query($id: ID!) { run(id: $id) { metrics { name value runStepId } } }',
      { id: runId },
      token ?? undefined,
    );
    const ratio = run.metrics.find((m) => m.name === 'ratio.size' && m.runStepId === null)!.value;
    expect(ratioText).toBe(`${ratio.toFixed(3)}×`);
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
});
