/**
 * `GET /models/:id/files?path=<file>`: one file of a model's folder (see model-folder.ts),
 * streamed from the artifact store or generated, to anyone who may read the model's team.
 * The sha256 goes along in a header so clients can verify what they saved.
 */
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import { pipeline } from 'node:stream/promises';
import { authorize } from './authorization';
import { createContext, type ApiServices } from './context';
import { sendJsonError } from './http-errors';
import { modelFolder } from './model-folder';

export function modelFileHandler(services: ApiServices) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const ctx = createContext(services, req.headers.authorization);
      const id = String(req.params.id);
      try {
        await ctx.viewer();
        await authorize(ctx, { modelId: id }, 'read');
      } catch (e) {
        if (e instanceof GraphQLError) {
          const code = String(e.extensions.code);
          return sendJsonError(res, code === 'UNAUTHENTICATED' ? 401 : 403, code, e.message);
        }
        throw e;
      }
      const model = await services.prisma.model.findUnique({ where: { id } });
      if (!model) return sendJsonError(res, 403, 'FORBIDDEN', 'not found or not allowed');
      if (model.status !== 'ready') return sendJsonError(res, 409, 'CONFLICT', `the model is ${model.status}; only ready models can be downloaded`);
      const files = await modelFolder(services, model);
      const wanted = typeof req.query.path === 'string' ? req.query.path : '';
      const file = files.find((f) => f.path === wanted);
      if (!file) return sendJsonError(res, 404, 'NOT_FOUND', `no file "${wanted}" in the model folder (files: ${files.map((f) => f.path).join(', ')})`);
      res.setHeader('content-type', file.path.endsWith('.md') ? 'text/markdown; charset=utf-8' : file.path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      res.setHeader('content-length', String(file.bytes));
      res.setHeader('x-content-sha256', file.sha256);
      res.setHeader('content-disposition', `attachment; filename="${file.path.split('/').at(-1)}"`);
      if (file.kind === 'generated') {
        res.end(file.text);
        return;
      }
      await pipeline(await services.store.get(file.sha256), res);
    } catch (e) {
      next(e);
    }
  };
}
