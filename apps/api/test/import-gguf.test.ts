/**
 * A GGUF file uploaded through the API is converted by the worker's import job (format
 * detected from the bytes): the model becomes ready as ONNX with the vocabulary stored as
 * its tokenizer and an import report on its config; a truncated GGUF fails naming the
 * field and keeps none of its bytes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGguf } from '@distillery/formats';
import { referenceModelDir } from '@distillery/reference';
import { ok, signUp, startHarness, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let tmp: string;
let token: string;
let teamId: string;
let projectId: string;

beforeAll(async () => {
  h = await startHarness();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'api-gguf-'));
  token = (await signUp(h, 'gguf')).token;
  teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "GGUF Lab") { id } }`, {}, token)).createTeam.id;
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "gguf") { id } }`, { t: teamId }, token)).createProject.id;
});
afterAll(async () => {
  await h?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const IMPORT = `mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "from-gguf", sha256: $s) { id status } }`;

describe('GGUF import through the API and the worker', () => {
  it('converts a Q8_0 GGUF upload into a ready model with its tokenizer and an import report', async () => {
    const file = path.join(tmp, 'ref-q8.gguf');
    await exportGguf(referenceModelDir(), file, 'q8_0');
    const bytes = new Uint8Array(await readFile(file));
    const up = await upload(h.api, bytes, token, teamId);
    expect(up.status).toBe(201);
    const m = ok(await h.gql<{ importModel: { id: string; status: string } }>(IMPORT, { p: projectId, s: up.body.sha256 }, token));
    const done = await waitForImport(h, m.importModel.id, token, 120_000);
    expect(done).toMatchObject({ status: 'ready', error: null, parameterCount: expect.any(Number) });
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: m.importModel.id }, include: { tokenizer: true } });
    // Stored as the converted ONNX model, not the GGUF bytes.
    expect(row.sha256).not.toBe(up.body.sha256);
    const config = row.config as { importReport: Record<string, unknown>; decoderConfig: Record<string, unknown> };
    expect(config.importReport).toMatchObject({ format: 'gguf v3', architecture: 'llama', parameters: 5261568, dtypes: { Q8_0: 26, F16: 4, F32: 9 }, tokenizerKind: expect.stringMatching(/byte-level/) });
    // ffn_down rows (688 values) are not whole 32-value blocks, so the export wrote them F16; the import itself had nothing to warn about.
    expect(config.importReport.warnings).toEqual([]);
    expect(config.decoderConfig).toMatchObject({ hidden_size: 256, num_hidden_layers: 4 });
    const viaApi = ok(
      await h.gql<{ model: { importReport: Record<string, unknown> } }>(
        `query($id: ID!) { model(id: $id) { importReport { format architecture parameters dtypes tokenizerKind warnings } } }`,
        { id: m.importModel.id },
        token,
      ),
    );
    expect(viaApi.model.importReport).toEqual(config.importReport);
    const tokenizer = JSON.parse(new TextDecoder().decode(await readFile(h.store.path(row.tokenizer!.sha256))));
    expect(tokenizer.model.type).toBe('BPE');
  });

  it('fails a truncated GGUF naming the field, keeping none of its bytes', async () => {
    const whole = await readFile(path.join(tmp, 'ref-q8.gguf'));
    const cut = new Uint8Array(whole.subarray(0, whole.length - 1000));
    const up = await upload(h.api, cut, token, teamId);
    const m = ok(await h.gql<{ importModel: { id: string } }>(IMPORT, { p: projectId, s: up.body.sha256 }, token));
    const failed = await waitForImport(h, m.importModel.id, token, 60_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^GGUF upload: tensor [\w.]+ data: .*run past the end of the file/);
    expect(await h.store.has(up.body.sha256 as string)).toBe(false);
  });
});
