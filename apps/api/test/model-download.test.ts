/** `GET /models/:id/download`: the stored bytes to a reader of the team, nothing to anyone else. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFileName } from '../src/model-download';
import { importBytes, ok, signUp, startHarness, tinyOnnxModel, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function workspace(name: string): Promise<{ token: string; teamId: string; projectId: string }> {
  const u = await signUp(h, name);
  const t = ok(await h.gql<{ createTeam: { id: string } }>(`mutation($n: String!) { createTeam(name: $n) { id } }`, { n: `${name} ${Date.now()}` }, u.token));
  const p = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: t.createTeam.id }, u.token));
  return { token: u.token, teamId: t.createTeam.id, projectId: p.createProject.id };
}

describe('model download', () => {
  it('streams the stored file as an attachment to a member, and refuses strangers alike for absent and foreign ids', async () => {
    const owner = await workspace('owner');
    const bytes = tinyOnnxModel();
    const model = await importBytes(h, owner.token, owner.teamId, owner.projectId, bytes, 'tiny "int4" <model>');
    expect(model.status).toBe('ready');

    const url = `${h.api.url}/models/${model.id}/download`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="tiny-int4-model.onnx"');
    const body = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(createHash('sha256').update(body).digest('hex')).toBe(model.sha256);

    expect((await fetch(url)).status).toBe(401);
    const stranger = await workspace('stranger');
    const foreign = await fetch(url, { headers: { authorization: `Bearer ${stranger.token}` } });
    const absent = await fetch(`${h.api.url}/models/00000000-0000-4000-8000-000000000000/download`, { headers: { authorization: `Bearer ${stranger.token}` } });
    const malformed = await fetch(`${h.api.url}/models/not-an-id/download`, { headers: { authorization: `Bearer ${stranger.token}` } });
    expect([foreign.status, absent.status, malformed.status]).toEqual([403, 403, 403]);
    expect(await foreign.json()).toEqual(await absent.json());
  });

  it('names the file after the model, safely', () => {
    expect(downloadFileName('ref-base int4')).toBe('ref-base-int4.onnx');
    expect(downloadFileName('model.onnx')).toBe('model.onnx');
    expect(downloadFileName('../../etc/passwd')).toBe('etc-passwd.onnx');
    expect(downloadFileName('"; rm -rf')).toBe('rm-rf.onnx');
    expect(downloadFileName('')).toBe('model.onnx');
  });
});
