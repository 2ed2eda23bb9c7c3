/**
 * Projects and models named on the command line by id or by name: an id is used as it is
 * when it exists; otherwise the name is looked up among the viewer's teams (and must be unique).
 */
import type { Call } from './api-call';
import { UsageError } from './usage-error';

export interface ProjectRef {
  id: string;
  name: string;
  teamId: string;
}

interface TeamList {
  teams: { id: string; name: string; slug: string; projects: { id: string; name: string }[] }[];
}

async function teams(call: Call): Promise<TeamList['teams']> {
  return (await call<TeamList>('{ teams { id name slug projects { id name } } }')).teams;
}

export async function resolveProject(call: Call, ref: string): Promise<ProjectRef> {
  const all = await teams(call);
  const matches = all.flatMap((t) => t.projects.filter((p) => p.id === ref || p.name === ref).map((p) => ({ id: p.id, name: p.name, teamId: t.id })));
  const byId = matches.find((p) => p.id === ref);
  if (byId) return byId;
  if (matches.length === 1) return matches[0]!;
  const known = all.flatMap((t) => t.projects.map((p) => `${p.name} (${p.id})`));
  if (matches.length === 0) throw new UsageError(`no project "${ref}" in your teams (projects: ${known.join(', ') || 'none'})`);
  throw new UsageError(`${matches.length} projects are named "${ref}"; give its id (${matches.map((p) => p.id).join(', ')})`);
}

export async function resolveModel(call: Call, project: ProjectRef, ref: string): Promise<{ id: string; name: string; status: string }> {
  const { project: p } = await call<{ project: { models: { id: string; name: string; status: string }[] } }>(
    'query($id: ID!) { project(id: $id) { models { id name status } } }',
    { id: project.id },
  );
  const byId = p.models.find((m) => m.id === ref);
  if (byId) return byId;
  const named = p.models.filter((m) => m.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new UsageError(`${named.length} models of project ${project.name} are named "${ref}"; give its id (${named.map((m) => m.id).join(', ')})`);
  throw new UsageError(`no model "${ref}" in project ${project.name} (models: ${p.models.map((m) => `${m.name} (${m.id})`).join(', ') || 'none'})`);
}

/** The team to use when none was named: the only one the viewer belongs to. */
export async function resolveTeam(call: Call, ref: string | undefined): Promise<{ id: string; name: string }> {
  const all = await teams(call);
  if (ref !== undefined) {
    const t = all.find((x) => x.id === ref || x.slug === ref || x.name === ref);
    if (!t) throw new UsageError(`no team "${ref}" among yours (${all.map((x) => x.slug).join(', ') || 'none'})`);
    return t;
  }
  if (all.length !== 1) throw new UsageError(`you belong to ${all.length} teams; name one with --team (${all.map((x) => x.slug).join(', ')})`);
  return all[0]!;
}

