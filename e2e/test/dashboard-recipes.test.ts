/**
 * The recipe builder, the sensitivity heatmap and the reproduce button in a real browser
 * against a live stack (API, worker, database): compose a recipe whose step and evaluation
 * forms come from JSON Schemas, see problems beside their fields (the form's own and the
 * API's), save it, clone it to a new name and save a new version, start a run of a chosen
 * version on the project's model, watch it finish, read its per-layer sensitivity heatmap,
 * then reproduce it and read the per-metric verdict. Screenshots go to e2e/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { graphql, uploadBytes, waitForModelReady } from '@distillery/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, launchChromium, PHONE, SCREENSHOTS, openSignedIn } from '../src/browser';
import { buildSmallDemoModel } from '../src/demo-model';
import { createWorkspace, type Workspace } from '../src/scenario';
import { startStack, type Stack } from '../src/stack';

let stack: Stack;
let browser: Browser;
let page: Page;
let ws: Workspace;
/** The model with a tokenizer (sensitivity and perplexity need one). */
let demoModelId: string;
let runId: string;

interface SavedRecipe {
  id: string;
  name: string;
  version: number;
  recipe: { steps: { technique: string; params: Record<string, unknown> }[]; eval?: Record<string, unknown> };
}

async function apiRecipes(name?: string): Promise<SavedRecipe[]> {
  const r = await graphql<{ recipes: SavedRecipe[] }>(stack.graphqlUrl, 'query($t: ID!, $n: String) { recipes(teamId: $t, name: $n) { id name version recipe } }', { t: ws.teamId, n: name ?? null }, ws.token);
  return r.recipes;
}

/** Answers that wait on the API and a re-render: generous, as the machine may be busy. */
const within = { timeout: 20_000, interval: 200 };

/** The innermost elements that reach past the viewport's right edge (none when the page fits). */
async function overflowing(): Promise<string[]> {
  return page.evaluate(() => {
    const wide = Array.from(document.body.querySelectorAll('*')).filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('.table-scroll'));
    return wide
      .filter((el) => !wide.some((other) => other !== el && el.contains(other)))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''} (${Math.round(el.getBoundingClientRect().right)} px)`);
  });
}

/** Fills one field of a schema form (element ids: `${prefix}param-${path}`). */
async function fill(id: string, value: string): Promise<void> {
  await page.locator(`#${id}`).fill(value);
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  // Built first: a pause of seconds between requests lets the API close the kept-alive
  // connection just as the next request reuses it (ECONNRESET).
  const demo = buildSmallDemoModel();
  ws = await createWorkspace(stack.apiUrl, 'recipes');
  const onnx = await uploadBytes(stack.apiUrl, demo.onnx, ws.token, ws.teamId);
  const tok = await uploadBytes(stack.apiUrl, new TextEncoder().encode(demo.tokenizerJson), ws.token, ws.teamId);
  const m = await graphql<{ importModel: { id: string } }>(
    stack.graphqlUrl,
    'mutation($p: ID!, $s: String!, $t: String) { importModel(projectId: $p, name: "tiny-demo", sha256: $s, tokenizerSha256: $t) { id } }',
    { p: ws.projectId, s: onnx.sha256, t: tok.sha256 },
    ws.token,
  );
  demoModelId = m.importModel.id;
  await waitForModelReady(stack.apiUrl, ws.token, demoModelId);
  browser = await launchChromium();
  page = await openSignedIn(browser, stack.webUrl!, ws);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('recipes, sensitivity and reproduction in the dashboard', () => {
  it('composes a recipe from schema forms with inline messages, saves it, clones it and saves a new version', async () => {
    await page.getByTestId('open-recipes').first().click();
    await page.waitForURL(`**/projects/${ws.projectId}/recipes`);
    await page.getByTestId('recipes-empty').waitFor();
    const builder = page.getByTestId('recipe-builder');
    const steps = builder.getByTestId('recipe-step');
    expect(await steps.count()).toBe(1);

    // A second step, then removed again.
    await builder.getByTestId('add-step').click();
    expect(await steps.count()).toBe(2);
    await steps.nth(1).getByTestId('remove-step').click();
    expect(await steps.count()).toBe(1);

    // Step 1: magnitude pruning (its output keeps float layers for the sensitivity probes).
    const step = steps.first();
    await step.getByTestId('step-technique').selectOption('prune.magnitude');
    const stepPrefix = (await step.getByTestId('step-technique').getAttribute('id'))!.replace(/technique$/, '');
    await fill(`${stepPrefix}param-sparsity`, '1.5');
    const stepError = step.locator('[data-testid="param-error"][data-path="sparsity"]');
    await stepError.waitFor();
    expect(await stepError.textContent()).toMatch(/sparsity/);
    await fill(`${stepPrefix}param-sparsity`, '0.25');
    await expect.poll(() => stepError.count(), within).toBe(0);

    // Saving without a name: the message is beside the name.
    await builder.getByTestId('save-recipe').click();
    expect(await builder.getByTestId('recipe-name-error').textContent()).toBe('give the recipe a name');
    await builder.getByTestId('recipe-name').fill('prune-sens');

    // Evaluation settings from their JSON Schema: a small evaluation and per-layer sensitivity.
    await builder.getByTestId('recipe-eval-toggle').check();
    for (const [field, value] of [
      ['maxTokens', '256'],
      ['choiceItems', '0'],
      ['clozeItems', '0'],
      ['latencyDecodeTokens', '2'],
      ['latencyPromptLength', '8'],
      ['threads', '1'],
    ] as const)
      await fill(`eval-param-${field}`, value);
    await builder.locator('fieldset[data-param="sensitivity"] legend input[type="checkbox"]').check();
    await fill('eval-param-sensitivity-sequences', '2');
    await fill('eval-param-sensitivity-length', '32');
    // No probe given: only the API knows that rule; its message is placed beside the field.
    await builder.getByTestId('save-recipe').click();
    const probeError = builder.locator('[data-testid="recipe-eval"] [data-testid="param-error"][data-path="sensitivity.bits"]');
    await probeError.waitFor();
    expect(await probeError.textContent()).toContain('at least one probe');
    expect(await apiRecipes()).toEqual([]);
    await fill('eval-param-sensitivity-bits', '2, 4');
    await expect.poll(() => probeError.count(), within).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'recipe-builder-desktop.png'), fullPage: true });
    await builder.getByTestId('save-recipe').click();
    await expect.poll(() => page.getByTestId('recipe-saved').textContent(), within).toBe('Saved prune-sens v1.');
    const [v1] = await apiRecipes();
    expect(v1).toMatchObject({ name: 'prune-sens', version: 1 });
    expect(v1!.recipe.steps).toEqual([{ technique: 'prune.magnitude', params: expect.objectContaining({ sparsity: 0.25 }) }]);
    expect(v1!.recipe.eval).toMatchObject({ maxTokens: 256, sensitivity: { bits: [2, 4], sequences: 2, length: 32 } });
    await expect.poll(() => page.getByTestId('recipe-row').count(), within).toBe(1);

    // Clone to a new name, with another sparsity.
    await page.locator('[data-testid="recipe-row"][data-name="prune-sens"]').getByTestId('recipe-clone').click();
    expect(await builder.getByTestId('recipe-name').inputValue()).toBe('prune-sens-copy');
    const clonePrefix = (await steps.first().getByTestId('step-technique').getAttribute('id'))!.replace(/technique$/, '');
    expect(await page.locator(`#${clonePrefix}param-sparsity`).inputValue()).toBe('0.25');
    expect(await page.locator('#eval-param-sensitivity-bits').inputValue()).toBe('2, 4');
    await fill(`${clonePrefix}param-sparsity`, '0.5');
    await builder.getByTestId('save-recipe').click();
    await expect.poll(() => page.getByTestId('recipe-saved').textContent(), within).toBe('Saved prune-sens-copy v1.');
    await expect.poll(() => page.getByTestId('recipe-row').count(), within).toBe(2);

    // A new version of the first: changed content under the same name.
    await page.locator('[data-testid="recipe-row"][data-name="prune-sens"]').getByTestId('recipe-edit').click();
    expect(await builder.getByTestId('recipe-name').inputValue()).toBe('prune-sens');
    const editPrefix = (await steps.first().getByTestId('step-technique').getAttribute('id'))!.replace(/technique$/, '');
    await fill(`${editPrefix}param-sparsity`, '0.3');
    await builder.getByTestId('save-recipe').click();
    await expect.poll(() => page.getByTestId('recipe-saved').textContent(), within).toBe('Saved prune-sens v2.');
    await expect.poll(() => page.locator('[data-testid="recipe-row"][data-name="prune-sens"]').getAttribute('data-version'), within).toBe('2');
    // Saving the same content again is no new version.
    await builder.getByTestId('save-recipe').click();
    await expect.poll(() => page.getByTestId('recipe-saved').textContent(), within).toBe('No change: prune-sens v2 already holds this recipe.');
    await page.locator('[data-testid="recipe-row"][data-name="prune-sens"]').getByTestId('recipe-versions').click();
    await expect.poll(async () => page.getByTestId('recipe-version').evaluateAll((els) => els.map((e) => e.getAttribute('data-version'))), within).toEqual(['2', '1']);
    expect((await apiRecipes('prune-sens')).map((r) => r.version)).toEqual([2, 1]);

    // At phone width the page fits: tables scroll inside their cards.
    await page.setViewportSize(PHONE);
    expect(await overflowing()).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'recipes-phone.png'), fullPage: true });
    await page.setViewportSize(DESKTOP);
  });

  it('starts a run of a chosen version on a chosen model and draws its per-layer sensitivity', async () => {
    const v1 = (await apiRecipes('prune-sens')).find((r) => r.version === 1)!;
    const start = page.getByTestId('start-from-recipe');
    await start.getByTestId('start-recipe').selectOption({ label: 'prune-sens v1' });
    await start.getByTestId('start-base-model').selectOption(demoModelId);
    await start.getByTestId('start-run').click();
    await page.waitForURL('**/runs/*');
    runId = page.url().split('/runs/')[1]!;
    const recorded = await graphql<{ run: { savedRecipeId: string; baseModel: { id: string } } }>(stack.graphqlUrl, 'query($id: ID!) { run(id: $id) { savedRecipeId baseModel { id } } }', { id: runId }, ws.token);
    expect(recorded.run).toEqual({ savedRecipeId: v1.id, baseModel: { id: demoModelId } });

    // The page follows the run to its end.
    await page.locator('.page-head [data-testid="run-status"][data-status="succeeded"]').waitFor({ timeout: 240_000 });
    const heatmap = page.getByTestId('sensitivity-heatmap');
    await heatmap.waitFor();
    const api = await graphql<{ run: { sensitivity: { layer: string; bits: number; kl: number }[] } }>(stack.graphqlUrl, 'query($id: ID!) { run(id: $id) { sensitivity { layer bits kl } } }', { id: runId }, ws.token);
    const rows = api.run.sensitivity;
    const layers = [...new Set(rows.map((r) => r.layer))];
    expect(layers.length).toBeGreaterThan(1);
    expect(rows.length).toBe(layers.length * 2);
    expect(await heatmap.getAttribute('data-layers')).toBe(String(layers.length));
    expect(await heatmap.getAttribute('data-probes')).toBe('2');
    expect(await heatmap.getByTestId('sensitivity-cell').count()).toBe(rows.length);
    // The caption names the cell with the largest KL.
    const worst = rows.reduce((a, b) => (b.kl > a.kl ? b : a));
    expect(await heatmap.getByTestId('sensitivity-top').textContent()).toContain(`${worst.layer} at ${worst.bits}-bit`);
    // Hovering a cell shows its layer, probe and figures.
    const canvas = heatmap.getByTestId('sensitivity-canvas');
    await canvas.locator('canvas').first().waitFor();
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.75, box.y + 20);
    const tooltip = canvas.locator('div').filter({ hasText: 'probe:' }).last();
    await expect.poll(() => tooltip.isVisible(), { timeout: 10_000 }).toBe(true);
    const tip = (await tooltip.innerText()).replace(/\s+/g, ' ');
    expect(layers.some((l) => tip.includes(l))).toBe(true);
    expect(tip).toMatch(/KL \d/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'run-sensitivity-desktop.png'), fullPage: true });
    // Another colouring: the caption follows.
    await heatmap.getByTestId('sensitivity-measure').selectOption('top1Drop');
    expect(await heatmap.getByTestId('sensitivity-top').textContent()).toContain('top-1 disagreement');
    await page.setViewportSize(PHONE);
    // The heatmap's canvas follows the new width when its resize observer fires, not at once.
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'run-sensitivity-phone.png'), fullPage: true });
    await page.setViewportSize(DESKTOP);
  });

  it('reproduces the run and shows the verdict metric by metric', async () => {
    const panel = page.getByTestId('reproduce-panel');
    await panel.scrollIntoViewIfNeeded();
    await expect.poll(() => panel.textContent(), within).toContain('Not reproduced yet');
    await panel.getByTestId('reproduce').click();
    const verdict = panel.getByTestId('reproduction');
    await expect.poll(() => verdict.getAttribute('data-verdict'), { timeout: 240_000, interval: 1000 }).not.toBe('pending');
    const api = await graphql<{ run: { reproductions: { id: string; reproduction: { verdict: string; compared: number; outside: number } }[] } }>(
      stack.graphqlUrl,
      'query($id: ID!) { run(id: $id) { reproductions { id reproduction { verdict compared outside } } } }',
      { id: runId },
      ws.token,
    );
    const rerun = api.run.reproductions[0]!;
    expect(rerun.reproduction.verdict).toBe('reproduced');
    expect(await verdict.getAttribute('data-verdict')).toBe('reproduced');
    expect(await panel.getByTestId('reproduction-verdict').textContent()).toContain(`Reproduced: all ${rerun.reproduction.compared} compared figures are within tolerance.`);
    const metricRows = panel.getByTestId('reproduction-metric');
    expect(await metricRows.count()).toBeGreaterThan(3);
    expect(await panel.locator('[data-testid="reproduction-metric"][data-within="no"]').count()).toBe(0);
    expect(await panel.locator('[data-testid="reproduction-metric"][data-metric="perplexity"] td').nth(0).textContent()).toMatch(/^Perplexity/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'run-reproduced-desktop.png'), fullPage: true });
    // The re-run's own page carries the same verdict.
    await panel.getByTestId('rerun-link').click();
    await page.waitForURL(`**/runs/${rerun.id}`);
    await expect.poll(() => page.getByTestId('reproduction').first().getAttribute('data-verdict'), within).toBe('reproduced');
  });
});
