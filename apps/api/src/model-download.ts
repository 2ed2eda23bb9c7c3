/**
 * Model files over HTTP, to anyone who may read the model's team:
 * - `GET /models/:id/files?path=<file>`: one file of the model's folder (see model-folder.ts),
 *   streamed from the artifact store or generated;
 * - `GET /models/:id/download`: the folder's ONNX file, named after the model, for a plain
 *   link in the dashboard.
 * The sha256 goes along in a header so clients can verify what they saved. An unknown id and
 * another team's model get the same answer (403 FORBIDDEN), as everywhere in the API.
 */
import type { NextFunction, Request, Response } from 'express';
import { ArtifactNotFoundError } from '@distillery/artifacts';
import { GraphQLError } from 'graphql';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { authorize } from './authorization';
import { createContext, type ApiServices } from './context';
import { sendJsonError } from './http-errors';
import { modelFolder } from './model-folder';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ONNX_FILE = 'onnx/model.onnx';
const NOT_FOUND = "no such model (or not one of your teams')";
// One answer for another team's model, an absent id and a malformed one, as GraphQL gives (FORBIDDEN).
const refuse = (res: Response) => sendJsonError(res, 403, 'FORBIDDEN', NOT_FOUND);

/** A file name safe in a Content-Disposition header: the model's name, plain ASCII, ending in .onnx. */
export function downloadFileName(name: string): string {
  const base = name.replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 120);
  return `${base || 'model'}.onnx`;
}

/** `whole`: serve the ONNX file under the model's name (the download route); otherwise the `path` query names the file. */
export function modelFileHandler(services: ApiServices, opts: { whole?: boolean } = {}) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const ctx = createContext(services, req.headers.authorization);
      const id = String(req.params.id ?? '');
      try {
        await ctx.viewer();
        if (!UUID.test(id)) throw new GraphQLError('not found', { extensions: { code: 'FORBIDDEN' } });
        await authorize(ctx, { modelId: id }, 'read');
      } catch (e) {
        if (e instanceof GraphQLError) {
          const code = String(e.extensions.code);
          if (code === 'UNAUTHENTICATED') return sendJsonError(res, 401, code, 'send "Authorization: Bearer <token>" to download');
          return refuse(res);
        }
        throw e;
      }
      const model = await services.prisma.model.findUnique({ where: { id } });
      if (!model) return refuse(res);
      if (model.status !== 'ready') return sendJsonError(res, 409, 'MODEL_NOT_READY', `the model is ${model.status}; only ready models can be downloaded`);
      const files = await modelFolder(services, model);
      const wanted = opts.whole ? ONNX_FILE : typeof req.query.path === 'string' ? req.query.path : '';
      const file = files.find((f) => f.path === wanted);
      if (!file) return sendJsonError(res, 404, 'NOT_FOUND', `no file "${wanted}" in the model folder (files: ${files.map((f) => f.path).join(', ')})`);
      const fileName = opts.whole ? downloadFileName(model.name) : file.path.split('/').at(-1);
      let body: Readable | null = null;
      if (file.kind !== 'generated') {
        try {
          body = await services.store.get(file.sha256);
        } catch (e) {
          if (e instanceof ArtifactNotFoundError) return sendJsonError(res, 410, 'ARTIFACT_MISSING', `the stored file ${file.path} of this model is missing`);
          throw e;
        }
      }
      res.setHeader('content-type', file.path.endsWith('.md') ? 'text/markdown; charset=utf-8' : file.path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      res.setHeader('content-length', String(file.bytes));
      res.setHeader('x-content-sha256', file.sha256);
      res.setHeader('content-disposition', `attachment; filename="${fileName}"`);
      res.setHeader('cache-control', 'private, no-store');
      if (file.kind === 'generated') {
        res.end(file.text);
        return;
      }
      await pipeline(body!, res);
    } catch (e) {
      if (res.headersSent) res.destroy(e as Error);
      else next(e);
    }
  };
}
