/**
 * `distillery download <modelId> --out DIR [--json]`: every file of the model's folder
 * (Model.files), each streamed to a temp file while hashed and moved into place only when
 * its sha256 equals the listed one (exit 1 otherwise, the bad file removed).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { apiCall } from './api-call';
import { refuseUnlessOk } from './auth-error';
import { connection } from './credentials';
import { createProgressDisplay } from './progress-display';
import { UsageError } from './usage-error';

interface ModelFile {
  path: string;
  sha256: string;
  bytes: number;
  url: string;
}

/** The file's place under `out`; refuses a path that would leave it. */
export function targetPath(out: string, filePath: string): string {
  const root = path.resolve(out);
  const target = path.resolve(root, filePath);
  if (!target.startsWith(root + path.sep)) throw new Error(`the model folder lists "${filePath}", which points outside ${out}`);
  return target;
}

export async function downloadCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError(`download takes one model id, got ${positionals.length}`);
  if (!values.out) throw new UsageError('download needs --out <dir>');
  const c = await connection();
  const call = apiCall(c);
  const { model } = await call<{ model: { id: string; name: string; status: string; files: ModelFile[] } }>(
    'query($id: ID!) { model(id: $id) { id name status files { path sha256 bytes url } } }',
    { id: positionals[0] },
  );
  if (model.status !== 'ready') throw new Error(`model ${model.id} is ${model.status}; only ready models can be downloaded`);
  if (model.files.length === 0) throw new Error(`model ${model.id} lists no files`);
  const progress = createProgressDisplay();
  const total = model.files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  const written: { path: string; sha256: string; bytes: number }[] = [];
  try {
    for (const file of model.files) {
      const target = targetPath(values.out, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      const res = await fetch(new URL(file.url, c.apiUrl), { headers: { authorization: `Bearer ${c.token}` } });
      await refuseUnlessOk(res, `download of ${file.path}`);
      if (!res.body) throw new Error(`download of ${file.path}: empty answer`);
      const hash = createHash('sha256');
      let bytes = 0;
      const temp = `${target}.part`;
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          bytes += chunk.byteLength;
          progress.update(total ? (done + bytes) / total : null, `${file.path} (${(bytes / 1e6).toFixed(1)} MB)`);
          cb(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), count, createWriteStream(temp));
      const sha256 = hash.digest('hex');
      if (sha256 !== file.sha256) {
        await rm(temp, { force: true });
        throw new Error(`${file.path}: sha256 ${sha256} of the ${bytes} bytes received differs from the listed ${file.sha256}; the file was not kept`);
      }
      await rename(temp, target);
      done += bytes;
      written.push({ path: file.path, sha256, bytes });
      progress.note(`${file.path} ${bytes} bytes, sha256 ${sha256} verified`);
    }
  } finally {
    progress.done();
  }
  if (values.json) print(JSON.stringify({ modelId: model.id, out: path.resolve(values.out), files: written }));
  else print(`model ${model.id} (${model.name}): ${written.length} files, ${done} bytes in ${path.resolve(values.out)}, every sha256 verified`);
}
