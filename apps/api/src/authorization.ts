/**
 * The single place that decides whether the viewer may touch a team's data. Every
 * resolver calls `authorize`; an unknown id and another team's id fail identically
 * (FORBIDDEN), so nobody can learn what exists outside their teams.
 */
import type { MembershipRole, Run } from '@distillery/db';
import type { ApiContext, Viewer } from './context';
import type { RunParent } from './run-documents';
import { forbidden } from './errors';

/** read: viewer and up; write: member and up (models, runs, projects); manage: owner (members). */
export type Access = 'read' | 'write' | 'manage';

export type AuthTarget = { teamId: string } | { projectId: string } | { modelId: string } | { runId: string };

const RANK: Record<MembershipRole, number> = { viewer: 0, member: 1, owner: 2 };
const NEEDED: Record<Access, number> = { read: RANK.viewer, write: RANK.member, manage: RANK.owner };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Authorized {
  viewer: Viewer;
  teamId: string;
  role: MembershipRole;
}

export function roleAllows(role: MembershipRole, access: Access): boolean {
  return RANK[role] >= NEEDED[access];
}

export async function authorize(ctx: ApiContext, target: AuthTarget, access: Access): Promise<Authorized> {
  const viewer = await ctx.viewer();
  const teamId = await teamOf(ctx, target);
  if (!teamId) throw forbidden();
  // A token's other teams look exactly like teams the user is not in.
  if (viewer.tokenTeamId !== undefined && viewer.tokenTeamId !== teamId) throw forbidden();
  const role = await roleIn(ctx, viewer.userId, teamId);
  // A member's refused attempt belongs in the team's audit log too; an outsider's does not.
  if (role) ctx.memo.authorizedTeams.add(teamId);
  if (!role || !roleAllows(role, access)) {
    // A member who lacks the role may know the team exists; say what is missing.
    throw role ? forbidden(`this needs the ${access === 'manage' ? 'owner' : 'member'} role in the team (you are ${role})`) : forbidden();
  }
  return { viewer, teamId, role };
}

/** Refuse what only a sign-in may do (joining or creating teams): an API token stays in its team. */
export async function requireSession(ctx: ApiContext, what: string): Promise<Viewer> {
  const viewer = await ctx.viewer();
  if (viewer.credential.kind !== 'session') throw forbidden(`an API token acts only within its team; ${what} needs a signed-in session`);
  return viewer;
}

async function teamOf(ctx: ApiContext, target: AuthTarget): Promise<string | null> {
  const id = Object.values(target)[0] as string;
  // Malformed ids cannot exist; rejecting them here also keeps them out of uuid casts.
  if (typeof id !== 'string' || !UUID.test(id)) return null;
  if ('teamId' in target) return target.teamId;
  if ('projectId' in target) return projectTeam(ctx, target.projectId);
  if ('modelId' in target) return (await ctx.loaders.model.load(target.modelId))?.teamId ?? null;
  const run = await ctx.loaders.run.load(target.runId);
  return run ? projectTeam(ctx, run.projectId) : null;
}

function projectTeam(ctx: ApiContext, projectId: string): Promise<string | null> {
  let p = ctx.memo.projectTeams.get(projectId);
  if (!p) {
    p = ctx.loaders.project.load(projectId).then((r) => r?.teamId ?? null);
    ctx.memo.projectTeams.set(projectId, p);
  }
  return p;
}

/**
 * Several runs at once (compare, sweeps): loaded in one batch, each checked against its
 * team. One unknown or foreign id fails the whole call, like a single one would.
 */
export async function authorizeRuns(ctx: ApiContext, runIds: readonly string[], access: Access): Promise<RunParent[]> {
  if (runIds.some((id) => typeof id !== 'string' || !UUID.test(id))) throw forbidden();
  const runs = await Promise.all(runIds.map((id) => ctx.loaders.run.load(id)));
  if (runs.some((r) => r === null)) throw forbidden();
  const found = runs as RunParent[];
  await Promise.all([...new Set(found.map((r) => r.projectId))].map((projectId) => authorize(ctx, { projectId }, access)));
  return found;
}

function roleIn(ctx: ApiContext, userId: string, teamId: string): Promise<MembershipRole | null> {
  let p = ctx.memo.roles.get(teamId);
  if (!p) {
    p = ctx.prisma.membership
      .findUnique({ where: { userId_teamId: { userId, teamId } }, select: { role: true } })
      .then((r) => r?.role ?? null);
    ctx.memo.roles.set(teamId, p);
  }
  return p;
}

/** Forget memoized roles after a membership change inside the same request. */
export function forgetRole(ctx: ApiContext, teamId: string): void {
  ctx.memo.roles.delete(teamId);
}
