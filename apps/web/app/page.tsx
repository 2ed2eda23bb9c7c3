'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { NavBar } from '../components/NavBar';
import { PageState } from '../components/PageState';
import { usePolling } from '../components/usePolling';
import { useSession } from '../components/useSession';
import { gql } from '../client/graphql';
import { formatDate } from '../client/format';
import { CREATE_PROJECT, CREATE_TEAM, INVITATIONS, TEAMS, VIEWER, type PendingInvitation, type TeamWithProjects } from '../client/queries';
import { InviteForm, PendingInvitations } from '../components/Invitations';

interface HomeData {
  teams: TeamWithProjects[];
  viewer: { email: string };
  invitations: PendingInvitation[];
}

async function loadHome(): Promise<HomeData> {
  const [t, v, i] = await Promise.all([
    gql<{ teams: TeamWithProjects[] }>(TEAMS),
    gql<{ viewer: { email: string } }>(VIEWER),
    gql<{ invitations: PendingInvitation[] }>(INVITATIONS),
  ]);
  return { teams: t.teams, viewer: v.viewer, invitations: i.invitations };
}

export default function HomePage() {
  const ready = useSession();
  const { data, error, reload } = usePolling(loadHome, () => false, 2000, ready);
  const [teamName, setTeamName] = useState('');
  const [formError, setFormError] = useState<string | null>(null);

  async function createTeam(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    try {
      await gql(CREATE_TEAM, { name: teamName });
      setTeamName('');
      await reload();
    } catch (err) {
      setFormError((err as Error).message);
    }
  }

  return (
    <>
      <NavBar email={data?.viewer.email} />
      <main>
        <div className="page-head">
          <div>
            <h1>Teams and projects</h1>
            <p className="muted">Pick a project to see its runs, or start a new one.</p>
          </div>
        </div>
        <PageState what="teams" loading={!data && !error} error={error} onRetry={() => void reload()} />
        {data ? <PendingInvitations invitations={data.invitations} onChange={reload} /> : null}
        <PageState what="teams" empty={data && data.teams.length === 0 ? 'You are not in any team yet. Create one below.' : null} testId="teams" />
        {data?.teams.map((team) => (
          <TeamCard key={team.id} team={team} onChange={reload} />
        ))}
        <section className="card">
          <h2>New team</h2>
          <form className="inline-form" onSubmit={createTeam}>
            <input aria-label="Team name" placeholder="Team name" required value={teamName} onChange={(e) => setTeamName(e.target.value)} />
            <button className="button" type="submit">
              Create team
            </button>
          </form>
          {formError ? <div className="error">{formError}</div> : null}
        </section>
      </main>
    </>
  );
}

function TeamCard({ team, onChange }: { team: TeamWithProjects; onChange: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const canWrite = team.viewerRole !== 'viewer';

  async function createProject(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await gql(CREATE_PROJECT, { teamId: team.id, name });
      setName('');
      await onChange();
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <section className="card team" data-testid="team">
      <div className="team-head">
        <h2>
          <Link href={`/teams/${team.id}`} prefetch={false}>
            {team.name}
          </Link>
        </h2>
        <span className="muted">{team.viewerRole}</span>
      </div>
      <PageState what="projects" empty={team.projects.length === 0 ? 'No projects yet.' : null} testId="projects">
        <ul className="project-list">
          {team.projects.map((p) => (
            <li key={p.id}>
              <span>
                <Link href={`/projects/${p.id}`}>{p.name}</Link>
                {p.description ? <span className="muted"> — {p.description}</span> : null}
                <span className="muted small">
                  {' · '}
                  <Link href={`/projects/${p.id}/recipes`} prefetch={false} data-testid="open-recipes">
                    recipes
                  </Link>
                </span>
              </span>
              <span className="muted">{formatDate(p.createdAt)}</span>
            </li>
          ))}
        </ul>
      </PageState>
      {canWrite ? (
        <form className="inline-form" onSubmit={createProject} style={{ marginTop: '1rem' }}>
          <input aria-label="Project name" placeholder="New project name" required value={name} onChange={(e) => setName(e.target.value)} />
          <button className="button-secondary" type="submit">
            Create project
          </button>
        </form>
      ) : null}
      {team.viewerRole === 'owner' ? <InviteForm teamId={team.id} /> : null}
      {error ? <div className="error">{error}</div> : null}
    </section>
  );
}
