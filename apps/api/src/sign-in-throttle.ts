/**
 * Brute-force protection for sign-in, kept in Postgres so every API process sees the
 * same counters. Attempts are counted per account (the email as typed, so unknown
 * addresses behave exactly like registered ones) and per client address. After the free
 * failures, each further failure doubles a lock-out during which every attempt, with
 * the right password too, is refused with TOO_MANY_ATTEMPTS.
 *
 * An attempt is counted before its password is checked, so parallel guesses cannot all
 * slip in before the first failure is recorded; a correct password then clears the
 * account's counter and gives back the address's count.
 */
import type { PrismaClient } from '@distillery/db';
import type { SignInLimits } from './config';
import { tooManyAttempts } from './errors';

export interface ThrottleKeys {
  account: string;
  address: string;
}

/** Lock-out after failure number `failures`: none within the free ones, then base·2^k capped. */
export function backoffSeconds(failures: number, free: number, baseSeconds: number, maxSeconds: number): number {
  if (failures < free) return 0;
  const exponent = Math.min(failures - free, 30);
  return Math.min(maxSeconds, baseSeconds * 2 ** exponent);
}

class Locked extends Error {}

function keysOf(k: ThrottleKeys): { key: string; free: (l: SignInLimits) => number }[] {
  return [
    { key: `account:${k.account}`, free: (l) => l.freeFailuresPerAccount },
    { key: `address:${k.address}`, free: (l) => l.freeFailuresPerAddress },
  ];
}

/**
 * Count one attempt against both keys, or throw TOO_MANY_ATTEMPTS (counting nothing)
 * when either is locked. Call `signInSucceeded` when the password was right.
 */
export async function reserveSignInAttempt(prisma: PrismaClient, keys: ThrottleKeys, limits: SignInLimits): Promise<void> {
  try {
    await prisma.$transaction(async (tx) => {
      for (const { key, free } of keysOf(keys)) {
        // The WHERE of ON CONFLICT is checked against the locked, current row, so two
        // concurrent attempts cannot both pass a lock the other just set.
        const rows = await tx.$queryRaw<{ failures: number }[]>`
          INSERT INTO "SignInThrottle" (key, failures, "lastAttemptAt") VALUES (${key}, 1, now())
          ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN "SignInThrottle"."lastAttemptAt" < now() - make_interval(secs => ${limits.failureWindowSeconds})
                            THEN 1 ELSE "SignInThrottle".failures + 1 END,
            "lastAttemptAt" = now()
          WHERE "SignInThrottle"."lockedUntil" IS NULL OR "SignInThrottle"."lockedUntil" <= now()
          RETURNING failures`;
        const failures = rows[0]?.failures;
        if (failures === undefined) throw new Locked();
        const lock = backoffSeconds(failures, free(limits), limits.backoffBaseSeconds, limits.backoffMaxSeconds);
        if (lock > 0) {
          await tx.$executeRaw`
            UPDATE "SignInThrottle" SET "lockedUntil" = now() + make_interval(secs => ${lock}) WHERE key = ${key}`;
        }
      }
    });
  } catch (e) {
    if (!(e instanceof Locked)) throw e;
    const rows = await prisma.$queryRaw<{ seconds: number | null }[]>`
      SELECT EXTRACT(EPOCH FROM max("lockedUntil") - now())::float8 AS seconds
      FROM "SignInThrottle" WHERE key IN (${`account:${keys.account}`}, ${`address:${keys.address}`})`;
    throw tooManyAttempts(rows[0]?.seconds ?? 1);
  }
}

// Rows of keys nobody tried for a while are dropped now and then, so the table stays small.
const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;

async function pruneStale(prisma: PrismaClient, limits: SignInLimits): Promise<void> {
  if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
  lastPrune = Date.now();
  await prisma.$executeRaw`
    DELETE FROM "SignInThrottle"
    WHERE "lastAttemptAt" < now() - make_interval(secs => ${limits.failureWindowSeconds})
      AND ("lockedUntil" IS NULL OR "lockedUntil" < now())`;
}

/** The password was right: forget the account's failures and give back the address's attempt. */
export async function signInSucceeded(prisma: PrismaClient, keys: ThrottleKeys, limits: SignInLimits): Promise<void> {
  await prisma.$transaction([
    prisma.signInThrottle.deleteMany({ where: { key: `account:${keys.account}` } }),
    prisma.$executeRaw`
      UPDATE "SignInThrottle" SET failures = GREATEST(failures - 1, 0),
        "lockedUntil" = CASE WHEN failures - 1 < ${limits.freeFailuresPerAddress} THEN NULL ELSE "lockedUntil" END
      WHERE key = ${`address:${keys.address}`}`,
  ]);
  await pruneStale(prisma, limits);
}
