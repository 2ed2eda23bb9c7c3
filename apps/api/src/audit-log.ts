/**
 * The audit log: one row per mutation call (succeeded or refused) with who called it
 * (user and credential row, never the secret), the team it was authorized in, the ids it
 * touched and the client address. Argument values other than ids are never stored, so no
 * password or token secret can reach the log.
 *
 * A mutation that makes its change in one transaction writes its row in that transaction
 * (auditedTransaction), so the change and its audit row commit together or not at all,
 * at the cost of no extra commit. Any other call's row is written right after the
 * mutation returns, as is the row of a call that failed (the failed transaction left
 * nothing behind); a failed write of that row is logged and does not undo the change.
 */
import type { Prisma, PrismaClient } from '@distillery/db';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { ApiContext, Viewer } from './context';
import type { ResolverFn } from './graphql/resolver-types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Ids further down than this are parts of inputs (recipe steps, metric points), not targets.
const MAX_TARGETS = 50;

export interface AuditRecord {
  teamIds: readonly string[];
  actor: Viewer | null;
  action: string;
  outcome: string;
  targetIds: readonly string[];
  address: string | null;
}

/** File this request's audit event under a team that no authorization check named (a new team, an accepted invitation). */
export function auditTeam(ctx: ApiContext, teamId: string): void {
  ctx.memo.authorizedTeams.add(teamId);
}

/** Ids named by a mutation's arguments (`id`, `teamId`, `runIds`, ...) and returned rows' ids, in order, once each. */
export function targetIdsOf(args: Record<string, unknown>, result: unknown): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && UUID.test(v) && out.size < MAX_TARGETS) out.add(v.toLowerCase());
  };
  for (const [key, value] of Object.entries(args)) {
    if (!/(^id|Id|Ids|^ids)$/.test(key)) continue;
    if (Array.isArray(value)) value.forEach(add);
    else add(value);
  }
  if (result && typeof result === 'object') {
    const r = result as Record<string, unknown>;
    add(r.id);
    for (const v of Object.values(r)) if (v && typeof v === 'object' && !Array.isArray(v)) add((v as Record<string, unknown>).id);
  }
  return [...out];
}

export function outcomeOf(error: unknown): string {
  return error instanceof GraphQLError && typeof error.extensions.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
}

/** The mutation call being audited (mutations run one after another, so one per request at a time). */
export interface AuditCall {
  action: string;
  args: Record<string, unknown>;
  /** Its success row was written inside the mutation's transaction. */
  writtenInTransaction: boolean;
}

export async function writeAudit(db: PrismaClient | Prisma.TransactionClient, rec: AuditRecord): Promise<void> {
  const base = {
    actorUserId: rec.actor?.userId ?? null,
    credentialKind: rec.actor?.credential.kind ?? null,
    credentialId: rec.actor?.credential.id ?? null,
    action: rec.action,
    outcome: rec.outcome,
    targetIds: [...rec.targetIds],
    address: rec.address,
  };
  const teams = rec.teamIds.length ? rec.teamIds : [null];
  await db.auditEvent.createMany({ data: teams.map((teamId) => ({ ...base, teamId })) });
}

async function viewerOrNull(ctx: ApiContext): Promise<Viewer | null> {
  try {
    return await ctx.viewer();
  } catch {
    return null;
  }
}

/** signIn has no viewer yet: its actor is the user and session it just created. */
function actorOfResult(result: unknown): Viewer | null {
  const r = result as { user?: { id?: unknown }; session?: { id?: unknown } } | null;
  if (typeof r?.user?.id === 'string' && typeof r.session?.id === 'string') {
    return { userId: r.user.id, credential: { kind: 'session', id: r.session.id } };
  }
  return null;
}

async function auditRecord(ctx: ApiContext, call: AuditCall, outcome: string, result: unknown): Promise<AuditRecord> {
  return {
    teamIds: [...ctx.memo.authorizedTeams],
    actor: (await viewerOrNull(ctx)) ?? actorOfResult(result),
    action: call.action,
    outcome,
    targetIds: targetIdsOf(call.args, result),
    address: ctx.client.address ?? null,
  };
}

/**
 * `ctx.prisma.$transaction(change)` that also writes the audited mutation's success row in
 * the transaction, after `change` succeeded (once per call). Outside an audited mutation it
 * is just the transaction.
 */
export function auditedTransaction<T>(ctx: ApiContext, change: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  return ctx.prisma.$transaction(async (tx) => {
    const result = await change(tx);
    const call = ctx.memo.auditCall;
    if (call && !call.writtenInTransaction) {
      await writeAudit(tx, await auditRecord(ctx, call, 'ok', result));
      call.writtenInTransaction = true;
    }
    return result;
  });
}

/** Wrap one mutation resolver so every call leaves an audit row. */
export function audited(action: string, resolve: ResolverFn): ResolverFn {
  const wrapped = async (parent: never, args: never, ctx: ApiContext, info: GraphQLResolveInfo): Promise<unknown> => {
    const call: AuditCall = { action, args: (args ?? {}) as Record<string, unknown>, writtenInTransaction: false };
    ctx.memo.auditCall = call;
    let result: unknown;
    let outcome = 'ok';
    let failure: unknown;
    try {
      result = await resolve(parent, args, ctx, info);
    } catch (e) {
      failure = e;
      outcome = outcomeOf(e);
    } finally {
      ctx.memo.auditCall = undefined;
    }
    // A failure after the transaction committed still leaves its own row: the call answered an error.
    if (failure === undefined && call.writtenInTransaction) return result;
    try {
      await writeAudit(ctx.prisma, await auditRecord(ctx, call, outcome, result));
    } catch (e) {
      ctx.log.error({ err: e, action }, 'audit event not written');
    }
    if (failure !== undefined) throw failure;
    return result;
  };
  return wrapped as ResolverFn;
}

/** Every field of a Mutation resolver map, audited under its field name. */
export function auditedMutations(fields: Record<string, ResolverFn>): Record<string, ResolverFn> {
  return Object.fromEntries(Object.entries(fields).map(([name, fn]) => [name, audited(name, fn)]));
}
