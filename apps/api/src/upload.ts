/**
 * `POST /upload`: the raw request body streamed straight into the artifact store (never
 * buffered whole), answering `{ sha256, bytes }` for a later `importModel`. Needs a
 * bearer token, so anonymous clients cannot fill the disk.
 */
import { ArtifactTooLargeError } from '@distillery/artifacts';
import type { NextFunction, Request, Response } from 'express';
import type { ApiServices } from './context';
import { findViewer } from './context';
import { sendJsonError } from './http-errors';
import { bearerToken } from './tokens';

export function uploadHandler(services: ApiServices) {
  const { prisma, store, config, log } = services;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const secret = bearerToken(req.headers.authorization);
      const viewer = secret ? await findViewer(prisma, secret) : null;
      if (!viewer) return sendJsonError(res, 401, 'UNAUTHENTICATED', 'send "Authorization: Bearer <token>" to upload');
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > config.maxUploadBytes) {
        return sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', `uploads are limited to ${config.maxUploadBytes} bytes`);
      }
      const stored = await store.put(req, { maxBytes: config.maxUploadBytes });
      log.info({ userId: viewer.userId, sha256: stored.sha256, bytes: stored.bytes }, 'upload stored');
      res.status(201).json({ sha256: stored.sha256, bytes: stored.bytes });
    } catch (e) {
      if (e instanceof ArtifactTooLargeError) return sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', `uploads are limited to ${config.maxUploadBytes} bytes`);
      next(e);
    }
  };
}
