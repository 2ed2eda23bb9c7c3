/**
 * Bring your own model, end to end against a live API, worker, database and dashboard
 * in a real browser: a Hugging Face folder (config.json, model.safetensors,
 * tokenizer.json) and a Q8_0 GGUF file, both written by our own writers from a small
 * decoder our builder made, imported through the API and through the project page's
 * upload form (and the folder sharded, through the form's shard input). Each import turns ready with its report (format, architecture,
 * parameters, tensor types, tokenizer) shown in the models list; an int8 run with
 * evaluation started from the dashboard on each finishes, and its run page shows size
 * and perplexity against the imported model. Screenshots go to e2e/screenshots/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, uploadBytes, waitForModelReady } from '@distillery/services';
import { DESKTOP, launchChromium, SCREENSHOTS, openSignedIn } from '../src/browser';
import { writeByomFiles, type ByomFiles } from '../src/byom-files';
import { createWorkspace, type Workspace } from '../src/scenario';
import type { ImportReport } from '@distillery/formats';
import { startStack, type Stack } from '../src/stack';


const IMPORT = `mutation($p: ID!, $n: String!, $s: String!, $t: String, $c: String) {
  importModel(projectId: $p, name: $n, sha256: $s, tokenizerSha256: $t, configSha256: $c) { id } }`;
const MODEL = `query($id: ID!) { model(id: $id) { status error parameterCount importReport { format architecture parameters dtypes tokenizerKind warnings } } }`;

let stack: Stack;
let browser: Browser;
let ws: Workspace;
let files: ByomFiles;
let tmp: string;

async function report(modelId: string): Promise<ImportReport> {
  const { model } = await graphql<{ model: { importReport: ImportReport | null } }>(stack.graphqlUrl, MODEL, { id: modelId }, ws.token);
  if (!model.importReport) throw new Error(`model ${modelId} has no import report`);
  return model.importReport;
}

async function importThroughApi(name: string, model: Buffer, extra: { tokenizer?: Buffer; config?: Buffer } = {}): Promise<string> {
  const up = (b: Buffer) => uploadBytes(stack.apiUrl, b, ws.token, ws.teamId);
  const [m, t, c] = await Promise.all([up(model), extra.tokenizer ? up(extra.tokenizer) : null, extra.config ? up(extra.config) : null]);
  const r = await graphql<{ importModel: { id: string } }>(stack.graphqlUrl, IMPORT, { p: ws.projectId, n: name, s: m.sha256, t: t?.sha256 ?? null, c: c?.sha256 ?? null }, ws.token);
  return r.importModel.id;
}

function signedInPage(): Promise<Page> {
  return openSignedIn(browser, stack.webUrl!, ws);
}

const modelRow = (page: Page, name: string) => page.getByTestId('model-row').filter({ has: page.locator('strong', { hasText: new RegExp(`^${name}$`) }) });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'distillery-byom-'));
  [stack, files] = await Promise.all([startStack({ web: true }), writeByomFiles(tmp)]);
  ws = await createWorkspace(stack.apiUrl, 'byom');
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('bring your own model', () => {
  it('imports a safetensors folder and a GGUF file through the API, each with its report', async () => {
    const hf = await importThroughApi('api-safetensors', files.safetensors.model, { tokenizer: files.safetensors.tokenizer, config: files.safetensors.config });
    const gguf = await importThroughApi('api-gguf', files.gguf);
    // Without its config.json a safetensors upload cannot be shaped: it fails saying what to send.
    const bare = await importThroughApi('api-bare-safetensors', files.safetensors.model);
    expect(await waitForModelReady(stack.apiUrl, ws.token, hf)).toMatchObject({ status: 'ready', parameterCount: files.parameterCount });
    expect(await waitForModelReady(stack.apiUrl, ws.token, gguf)).toMatchObject({ status: 'ready', parameterCount: files.parameterCount });
    await expect(waitForModelReady(stack.apiUrl, ws.token, bare)).rejects.toThrow(/config\.json.*configSha256/);

    const hfReport = await report(hf);
    expect(hfReport).toMatchObject({ format: 'safetensors', architecture: expect.stringMatching(/llama/i), parameters: files.weightCount, dtypes: { F32: expect.any(Number) } });
    expect(hfReport.tokenizerKind).toBeTruthy();
    const ggufReport = await report(gguf);
    expect(ggufReport).toMatchObject({ format: 'gguf v3', architecture: 'llama', parameters: files.weightCount });
    expect(ggufReport.dtypes.Q8_0).toBeGreaterThan(0);
    // The vocabulary inside the GGUF file became the model's tokenizer.
    expect(ggufReport.tokenizerKind).toBeTruthy();
  }, 300_000);

  it('imports both through the upload form, runs int8 with evaluation on each from the dashboard, and shows the results', async () => {
    const page = await signedInPage();
    const projectUrl = `${stack.webUrl!}/projects/${ws.projectId}`;
    await page.goto(projectUrl);
    await page.getByTestId('model-upload').waitFor();

    // A Hugging Face folder: its three files through the form's three inputs.
    await page.setInputFiles('#model-file', { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: files.safetensors.model });
    await page.setInputFiles('#tokenizer-file', { name: 'tokenizer.json', mimeType: 'application/json', buffer: files.safetensors.tokenizer });
    await page.setInputFiles('#config-file', { name: 'config.json', mimeType: 'application/json', buffer: files.safetensors.config });
    await page.getByLabel('Model name').fill('ui-safetensors');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const hfRow = modelRow(page, 'ui-safetensors');
    await hfRow.locator('[data-testid="model-status"][data-status="ready"]').waitFor({ timeout: 120_000 });
    const hfReport = hfRow.getByTestId('import-report');
    expect(await hfReport.getAttribute('data-format')).toBe('safetensors');
    expect(await hfReport.innerText()).toMatch(/llama.*params.*F32 ×\d+.*tokenizer: (?!none)/i);

    // A GGUF file alone: its vocabulary is its tokenizer.
    await page.setInputFiles('#model-file', { name: 'demo-q8_0.gguf', mimeType: 'application/octet-stream', buffer: files.gguf });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const ggufRow = modelRow(page, 'demo-q8_0');
    await ggufRow.locator('[data-testid="model-status"][data-status="ready"]').waitFor({ timeout: 120_000 });
    const ggufReport = ggufRow.getByTestId('import-report');
    expect(await ggufReport.getAttribute('data-format')).toBe('gguf v3');
    expect(await ggufReport.innerText()).toMatch(/Q8_0 ×\d+.*tokenizer: (?!none)/);
    await page.getByTestId('models-list').screenshot({ path: path.join(SCREENSHOTS, 'byom-models.png') });

    // A sharded folder: the index as the model file, its shards through the multi-file input.
    await page.setInputFiles('#model-file', { name: 'model.safetensors.index.json', mimeType: 'application/json', buffer: files.sharded.index });
    await page.setInputFiles('#tokenizer-file', { name: 'tokenizer.json', mimeType: 'application/json', buffer: files.safetensors.tokenizer });
    await page.setInputFiles('#config-file', { name: 'config.json', mimeType: 'application/json', buffer: files.safetensors.config });
    await page.setInputFiles('#shard-files', files.sharded.shards.map((s) => ({ name: s.name, mimeType: 'application/octet-stream', buffer: s.bytes })));
    await page.getByLabel('Model name').fill('ui-sharded');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const shardedRow = modelRow(page, 'ui-sharded');
    await shardedRow.locator('[data-testid="model-status"][data-status="ready"]').waitFor({ timeout: 120_000 });
    expect(await shardedRow.getByTestId('import-report').getAttribute('data-format')).toBe('safetensors');
    const listed = await graphql<{ models: { id: string; name: string }[] }>(stack.graphqlUrl, 'query($p: ID!) { models(projectId: $p) { id name } }', { p: ws.projectId }, ws.token);
    expect(await report(listed.models.find((m) => m.name === 'ui-sharded')!.id)).toMatchObject({ format: 'safetensors', parameters: files.weightCount });

    const { models } = await graphql<{ models: { id: string; name: string }[] }>(stack.graphqlUrl, 'query($p: ID!) { models(projectId: $p) { id name } }', { p: ws.projectId }, ws.token);
    for (const name of ['ui-safetensors', 'demo-q8_0']) {
      const modelId = models.find((m) => m.name === name)!.id;
      await page.goto(projectUrl);
      await page.getByTestId('params-form').waitFor();
      // The runs list has loaded (its count, or the empty list's note) before it is counted.
      await page.locator('[data-testid="runs-count"], main p.empty').first().waitFor();
      await page.selectOption('#base-model', modelId);
      await page.selectOption('#technique', 'quantize.rtn-int8');
      await expect.poll(() => page.inputValue('#param-minSize')).toBe('0');
      const before = await page.getByTestId('run-row').count();
      await page.getByRole('button', { name: 'Start run' }).click();
      // The list reloads by polling here (the API runs inside the test process, without subscriptions).
      await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 60_000 }).toBe(before + 1);
      const row = page.getByTestId('run-row').first();
      await row.locator('[data-status="succeeded"]').waitFor({ timeout: 180_000 });
      const runId = (await row.getAttribute('data-run-id'))!;
      const { run } = await graphql<{ run: { baseModel: { id: string }; metrics: { name: string; value: number; runStepId: string | null }[] } }>(
        stack.graphqlUrl,
        'query($id: ID!) { run(id: $id) { baseModel { id } metrics { name value runStepId } } }',
        { id: runId },
        ws.token,
      );
      expect(run.baseModel.id).toBe(modelId);
      const value = (n: string) => run.metrics.find((m) => m.name === n && m.runStepId === null)?.value;
      // int8 weights: about a quarter of the float32 import; perplexity measured on both.
      expect(value('ratio.size')).toBeLessThan(0.5);
      expect(value('perplexity')).toBeGreaterThan(1);
      expect(value('base.perplexity')).toBeGreaterThan(1);

      await page.goto(`${stack.webUrl!}/runs/${runId}`);
      const ppl = page.locator('[data-testid="run-summary"] tr[data-key="perplexity"]');
      await ppl.waitFor();
      expect(await ppl.locator('[data-cell="base"]').innerText()).not.toBe('—');
      expect(await ppl.locator('[data-cell="output"]').innerText()).not.toBe('—');
      expect(await page.locator('[data-testid="run-summary"] tr[data-key="sizeBytes"]').getAttribute('data-verdict')).toBe('better');
      await page.screenshot({ path: path.join(SCREENSHOTS, `byom-run-${name}.png`), fullPage: true });
    }
    await page.close();
  }, 600_000);
});
