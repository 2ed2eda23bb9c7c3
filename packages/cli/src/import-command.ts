/**
 * `distillery import <file|folder> --project P [--name N]`: uploads a model file (ONNX or
 * llama2.c; a model folder's onnx/model.onnx with its tokenizer.json) through POST /upload,
 * imports it, and waits until a worker has validated it (ready) or refused it (exit 1).
 * A folder whose ONNX keeps weights in external data files is sent with them inlined.
 */
import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { readModel, serializeModel } from '@distillery/onnx';
import { apiCall, type Call } from './api-call';
import { refuseUnlessOk } from './auth-error';
import { connection, type Connection } from './credentials';
import { createProgressDisplay, type ProgressDisplay } from './progress-display';
import { resolveProject } from './resolve-names';
import { UsageError } from './usage-error';

interface Payload {
  label: string;
  bytes: number;
  body: () => ReadableStream<Uint8Array>;
}

function filePayload(file: string, bytes: number): Payload {
  return { label: path.basename(file), bytes, body: () => Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array> };
}

function bufferPayload(label: string, data: Uint8Array): Payload {
  return { label, bytes: data.byteLength, body: () => new Blob([new Uint8Array(data)]).stream() };
}

/** What to send for a folder: the ONNX (inlined if it has side files) and its tokenizer.json. */
async function folderPayloads(dir: string): Promise<{ model: Payload; tokenizer: Payload | null }> {
  const onnx = path.join(dir, 'onnx', 'model.onnx');
  const direct = path.join(dir, 'model.onnx');
  const file = existsSync(onnx) ? onnx : existsSync(direct) ? direct : null;
  if (!file) throw new UsageError(`${dir} holds no onnx/model.onnx (a model folder) nor model.onnx`);
  const external = (await readdir(path.dirname(file))).some((f) => f !== 'model.onnx' && f.startsWith('model.onnx'));
  const model = external ? bufferPayload('model.onnx (external data inlined)', serializeModel(await readModel(file)).model) : filePayload(file, (await stat(file)).size);
  const tokenizerFile = [path.join(dir, 'tokenizer.json'), path.join(path.dirname(file), 'tokenizer.json')].find((f) => existsSync(f));
  const tokenizer = tokenizerFile ? bufferPayload('tokenizer.json', await readFile(tokenizerFile)) : null;
  return { model, tokenizer };
}

/** Streams a payload to POST /upload, reporting bytes sent; answers its sha256. */
async function upload(c: Connection, teamId: string, payload: Payload, progress: ProgressDisplay): Promise<string> {
  let sent = 0;
  const counted = payload.body().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.byteLength;
        progress.update(payload.bytes ? sent / payload.bytes : null, `uploading ${payload.label} (${(sent / 1e6).toFixed(1)} of ${(payload.bytes / 1e6).toFixed(1)} MB)`);
        controller.enqueue(chunk);
      },
    }),
  );
  const res = await fetch(`${c.apiUrl}/upload?teamId=${encodeURIComponent(teamId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(payload.bytes), authorization: `Bearer ${c.token}` },
    body: counted,
    duplex: 'half',
  } as RequestInit);
  await refuseUnlessOk(res, `upload of ${payload.label}`);
  const body = (await res.json()) as { sha256?: string };
  if (!body.sha256) throw new Error(`upload of ${payload.label} answered without a sha256`);
  return body.sha256;
}

interface ModelState {
  id: string;
  status: 'importing' | 'ready' | 'failed';
  error: string | null;
  parameterCount: number;
  format: string;
  sha256: string;
}

async function waitForImport(call: Call, id: string, progress: ProgressDisplay): Promise<ModelState> {
  const started = Date.now();
  for (;;) {
    const { model } = await call<{ model: ModelState }>('query($id: ID!) { model(id: $id) { id status error parameterCount format sha256 } }', { id });
    if (model.status !== 'importing') return model;
    progress.update(null, `importing: a worker is validating the model (${Math.round((Date.now() - started) / 1000)} s)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function importCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { project: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError(`import takes one model file or folder, got ${positionals.length}`);
  if (!values.project) throw new UsageError('import needs --project <id or name>');
  const input = positionals[0]!;
  const info = await stat(input).catch(() => {
    throw new UsageError(`${input}: no such file or folder`);
  });
  const c = await connection();
  const call = apiCall(c);
  const project = await resolveProject(call, values.project);
  const { model, tokenizer } = info.isDirectory() ? await folderPayloads(input) : { model: filePayload(input, info.size), tokenizer: null };
  const name = values.name ?? path.basename(path.resolve(input)).replace(/\.(onnx|bin|gguf|safetensors)$/, '');
  const progress = createProgressDisplay();
  try {
    const sha256 = await upload(c, project.teamId, model, progress);
    const tokenizerSha256 = tokenizer ? await upload(c, project.teamId, tokenizer, progress) : undefined;
    progress.note(`uploaded ${model.label}${tokenizer ? ' and tokenizer.json' : ''} (sha256 ${sha256})`);
    const { importModel } = await call<{ importModel: { id: string } }>(
      'mutation($p: ID!, $n: String!, $s: String!, $t: String) { importModel(projectId: $p, name: $n, sha256: $s, tokenizerSha256: $t) { id } }',
      { p: project.id, n: name, s: sha256, t: tokenizerSha256 ?? null },
    );
    const done = await waitForImport(call, importModel.id, progress);
    progress.done();
    if (values.json) print(JSON.stringify({ ...done, name, projectId: project.id }));
    if (done.status === 'failed') throw new Error(`the import of ${input} failed: ${done.error ?? 'no reason recorded'}`);
    if (!values.json) print(`model ${done.id} ready: ${name}, ${done.format}, ${done.parameterCount} parameters, sha256 ${done.sha256}`);
  } finally {
    progress.done();
  }
}
