/**
 * `POST /upload?teamId=<id>`: the raw request body streamed straight into the artifact
 * store (never buffered whole; the store hashes into a temp file and renames it into
 * place only when complete), recorded as an upload of that team and counted against its
 * quota. Answers `{ sha256, bytes, teamId }` for a later `importModel`. The uploader must
 * be a member who may write; `teamId` (or the `x-team-id` header) may be left out by
 * someone who can write to exactly one team.
 */
import { ArtifactTooLargeError } from '@distillery/artifacts';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import { authorize, roleAllows } from './authorization';
import { writeAudit } from './audit-log';
import type { ApiServices, Viewer } from './context';
import { createContext } from './context';
import { sendJsonError } from './http-errors';
import { checkQuota, QuotaExceededError, recordUpload, uploadBytesUsed } from './team-uploads';

class UploadRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function requestedTeam(req: Request): string | undefined {
  const q = req.query.teamId;
  if (typeof q === 'string' && q !== '') return q;
  const h = req.headers['x-team-id'];
  return typeof h === 'string' && h !== '' ? h : undefined;
}

function quotaError(res: Response, e: QuotaExceededError): void {
  sendJsonError(res, 413, e.code, e.message, { usedBytes: e.usedBytes, incomingBytes: e.incomingBytes, limitBytes: e.limitBytes });
}

export function uploadHandler(services: ApiServices) {
  const { prisma, store, config, log } = services;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const ctx = createContext(services, req.headers.authorization, { address: req.ip, userAgent: req.headers['user-agent'] });
      let teamId = requestedTeam(req);
      let viewer: Viewer;
      try {
        viewer = await ctx.viewer();
        // An API token uploads into its own team.
        teamId ??= viewer.tokenTeamId;
        if (teamId !== undefined) await authorize(ctx, { teamId }, 'write');
      } catch (e) {
        if (e instanceof GraphQLError) {
          const code = String(e.extensions.code);
          return sendJsonError(res, code === 'UNAUTHENTICATED' ? 401 : 403, code, code === 'UNAUTHENTICATED' ? 'send "Authorization: Bearer <token>" to upload' : e.message);
        }
        throw e;
      }
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > config.maxUploadBytes) {
        throw new UploadRefused(413, 'PAYLOAD_TOO_LARGE', `uploads are limited to ${config.maxUploadBytes} bytes`);
      }
      if (teamId === undefined) {
        const writable = (await prisma.membership.findMany({ where: { userId: viewer.userId }, select: { teamId: true, role: true } })).filter((m) => roleAllows(m.role, 'write'));
        if (writable.length !== 1) {
          throw new UploadRefused(400, 'BAD_REQUEST', `name the team the upload belongs to: POST /upload?teamId=<team id> (you can write to ${writable.length} teams)`);
        }
        teamId = writable[0]!.teamId;
      }

      const used = await uploadBytesUsed(prisma, teamId);
      if (Number.isFinite(declared)) checkQuota(used, declared, config.teamUploadQuotaBytes);
      const quotaLeft = config.teamUploadQuotaBytes > 0 ? Math.max(0, config.teamUploadQuotaBytes - used) : Infinity;
      const maxBytes = Math.min(config.maxUploadBytes, quotaLeft);
      let stored;
      try {
        stored = await store.put(req, { maxBytes });
      } catch (e) {
        if (e instanceof ArtifactTooLargeError) {
          if (maxBytes < config.maxUploadBytes) throw new QuotaExceededError(used, e.maxBytes, config.teamUploadQuotaBytes, true);
          throw new UploadRefused(413, 'PAYLOAD_TOO_LARGE', `uploads are limited to ${config.maxUploadBytes} bytes`);
        }
        throw e;
      }
      // Bytes refused here stay unreferenced; the garbage collector removes them.
      const present = await recordUpload(prisma, store, { teamId, userId: viewer.userId, sha256: stored.sha256, bytes: stored.bytes, quotaBytes: config.teamUploadQuotaBytes });
      if (!present) throw new UploadRefused(503, 'RETRY', 'the stored bytes were removed while the upload finished; send it again');
      log.info({ userId: viewer.userId, teamId, sha256: stored.sha256, bytes: stored.bytes }, 'upload stored');
      await writeAudit(prisma, { teamIds: [teamId], actor: viewer, action: 'upload', outcome: 'ok', targetIds: [], address: req.ip ?? null }).catch((e: unknown) =>
        log.error({ err: e, action: 'upload' }, 'audit event not written'),
      );
      res.status(201).json({ sha256: stored.sha256, bytes: stored.bytes, teamId });
    } catch (e) {
      if (e instanceof QuotaExceededError) return quotaError(res, e);
      if (e instanceof UploadRefused) return sendJsonError(res, e.status, e.code, e.message);
      next(e);
    }
  };
}
