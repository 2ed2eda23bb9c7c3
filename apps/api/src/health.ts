/** `GET /health`: the process answers (ok) and whether the database does (db). */
import type { PrismaClient } from '@distillery/db';
import type { Request, Response } from 'express';

const DB_TIMEOUT_MS = 2000;

export async function databaseReachable(prisma: PrismaClient, timeoutMs = DB_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = prisma.$queryRaw`SELECT 1`.then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthHandler(prisma: PrismaClient) {
  return async (_req: Request, res: Response): Promise<void> => {
    const db = await databaseReachable(prisma);
    res.status(200).json({ ok: true, db });
  };
}
