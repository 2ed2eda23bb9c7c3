/**
 * `GET /models/:id/download`: the stored ONNX file of a model the caller may read,
 * streamed from the artifact store as an attachment named after the model. An unknown id
 * and another team's model get the same answer, as everywhere in the API.
 */
import { pipeline } from 'node:stream/promises';
import { ArtifactNotFoundError } from '@distillery/artifacts';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import { authorize } from './authorization';
import type { ApiServices } from './context';
import { createContext } from './context';
import { sendJsonError } from './http-errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A file name safe in a Content-Disposition header: the model's name, plain ASCII, ending in .onnx. */
export function downloadFileName(name: string): string {
  const base = name.replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 120);
  return `${base || 'model'}.onnx`;
}

export function modelDownloadHandler(services: ApiServices) {
  const { prisma, store } = services;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const id = String(req.params.id ?? '');
      const ctx = createContext(services, req.headers.authorization);
      try {
        if (!UUID.test(id)) throw new GraphQLError('not found', { extensions: { code: 'FORBIDDEN' } });
        await authorize(ctx, { modelId: id }, 'read');
      } catch (e) {
        if (e instanceof GraphQLError) {
          const code = String(e.extensions.code);
          if (code === 'UNAUTHENTICATED') return sendJsonError(res, 401, code, 'send "Authorization: Bearer <token>" to download');
          return sendJsonError(res, 404, 'NOT_FOUND', 'no such model (or not one of your teams\')');
        }
        throw e;
      }
      const model = await prisma.model.findUnique({ where: { id }, select: { name: true, sha256: true, status: true } });
      if (!model) return sendJsonError(res, 404, 'NOT_FOUND', "no such model (or not one of your teams')");
      if (model.status !== 'ready') return sendJsonError(res, 409, 'MODEL_NOT_READY', `the model is ${model.status}; only ready models can be downloaded`);
      let body;
      try {
        body = await store.get(model.sha256);
      } catch (e) {
        if (e instanceof ArtifactNotFoundError) return sendJsonError(res, 410, 'ARTIFACT_MISSING', 'the stored file of this model is missing');
        throw e;
      }
      const size = await store.size(model.sha256);
      res.status(200);
      res.setHeader('content-type', 'application/octet-stream');
      if (size !== null) res.setHeader('content-length', String(size));
      res.setHeader('content-disposition', `attachment; filename="${downloadFileName(model.name)}"`);
      res.setHeader('cache-control', 'private, no-store');
      await pipeline(body, res);
    } catch (e) {
      if (res.headersSent) res.destroy(e as Error);
      else next(e);
    }
  };
}
