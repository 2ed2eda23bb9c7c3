'use client';
/**
 * A team: its members and their roles (owners change them), whether its runs appear on
 * public leaderboards, the viewer's API tokens (a new secret is shown once), and for owners
 * the audit log.
 */
import { useParams } from 'next/navigation';
import { useCallback, useState, type FormEvent } from 'react';
import { AuditLog } from '../../../components/AuditLog';
import { NavBar } from '../../../components/NavBar';
import { PageState } from '../../../components/PageState';
import { ScrollTable } from '../../../components/ScrollTable';
import { usePolling } from '../../../components/usePolling';
import { useSession } from '../../../components/useSession';
import { formatDate } from '../../../client/format';
import { gql } from '../../../client/graphql';
import { CREATE_API_TOKEN, REMOVE_MEMBER, REVOKE_API_TOKEN, ROLES, SET_LEADERBOARD_PUBLIC, SET_MEMBER_ROLE, TEAM_PAGE, type Role, type TeamPageAnswer } from '../../../client/team';

export default function TeamPage() {
  const { id } = useParams<{ id: string }>()!;
  useSession();
  const load = useCallback(() => gql<TeamPageAnswer>(TEAM_PAGE, { id }), [id]);
  const { data, error, reload } = usePolling(load, () => false, 2000);
  const [actionError, setActionError] = useState<string | null>(null);
  const [tokenName, setTokenName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const act = (p: Promise<unknown>) =>
    p.then(
      () => {
        setActionError(null);
        return reload();
      },
      (e: Error) => setActionError(e.message),
    );
  const createToken = async (e: FormEvent) => {
    e.preventDefault();
    if (!tokenName.trim()) {
      setActionError('give the token a name');
      return;
    }
    try {
      const r = await gql<{ createApiToken: { token: string } }>(CREATE_API_TOKEN, { name: tokenName.trim(), teamId: id });
      setSecret(r.createApiToken.token);
      setTokenName('');
      setActionError(null);
      await reload();
    } catch (err) {
      setActionError((err as Error).message);
    }
  };
  const team = data?.team;
  const owner = team?.viewerRole === 'owner';
  return (
    <>
      <NavBar crumbs={team ? [{ label: team.name }] : [{ label: 'Team' }]} />
      <main>
        <PageState loading={!data && !error} error={error} what="team" />
        {actionError ? (
          <div className="error" role="alert" data-testid="team-error">
            {actionError}
          </div>
        ) : null}
        {data && team ? (
          <>
            <div className="page-head">
              <div className="wrap">
                <h1>{team.name}</h1>
                <p className="muted">You are {team.viewerRole === 'owner' ? 'an owner' : `a ${team.viewerRole}`} of this team.</p>
              </div>
            </div>
            <section className="card" aria-labelledby="members-head">
              <h2 id="members-head">Members ({team.members.length})</h2>
              <ScrollTable testId="members-table" columns={['Member', 'Role', 'Since', owner && 'Remove']}>
                {team.members.map((m) => (
                  <tr key={m.userId} data-testid="member-row">
                    <td className="wrap">
                      {m.name ? `${m.name} · ` : ''}
                      {m.email}
                    </td>
                    <td>
                      {owner && m.userId !== data.viewer.id ? (
                        <select aria-label={`role of ${m.email}`} value={m.role} onChange={(e) => act(gql(SET_MEMBER_ROLE, { teamId: id, userId: m.userId, role: e.target.value as Role }))}>
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        m.role
                      )}
                    </td>
                    <td>{formatDate(m.since)}</td>
                    {owner ? (
                      <td>
                        {m.userId !== data.viewer.id ? (
                          <button type="button" className="button-danger" onClick={() => act(gql(REMOVE_MEMBER, { teamId: id, userId: m.userId }))}>
                            Remove
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </ScrollTable>
            </section>
            <section className="card" aria-labelledby="public-head">
              <h2 id="public-head">Public leaderboards</h2>
              <label>
                <input
                  type="checkbox"
                  checked={team.leaderboardPublic}
                  disabled={!owner}
                  onChange={(e) => act(gql(SET_LEADERBOARD_PUBLIC, { teamId: id, public: e.target.checked }))}
                  data-testid="leaderboard-public"
                />{' '}
                Show this team&apos;s runs on public leaderboards{owner ? '' : ' (owners decide)'}
              </label>
            </section>
            <section className="card" aria-labelledby="tokens-head">
              <h2 id="tokens-head">Your API tokens</h2>
              <p className="hint">For notebooks and scripts: send as Authorization: Bearer &lt;token&gt;. A token acts as you in every team you belong to.</p>
              {secret ? (
                <div className="card" role="status" data-testid="new-token">
                  <p>Copy the token now; it is not shown again.</p>
                  <code className="mono wrap" data-testid="new-token-secret">
                    {secret}
                  </code>{' '}
                  <button type="button" className="button-secondary" onClick={() => setSecret(null)}>
                    Done
                  </button>
                </div>
              ) : null}
              <form className="inline-form" onSubmit={createToken}>
                <label>
                  Name <input value={tokenName} onChange={(e) => setTokenName(e.target.value)} data-testid="token-name" />
                </label>
                <button type="submit" className="button" data-testid="create-token">
                  Create token
                </button>
              </form>
              <PageState what="tokens" empty={data.apiTokens.filter((t) => t.teamId === id).length === 0 ? 'No tokens yet.' : null} testId="tokens">
                <ScrollTable testId="tokens-table" columns={['Name', 'Starts with', 'Last used', 'State']}>
                  {data.apiTokens.filter((t) => t.teamId === id).map((t) => (
                    <tr key={t.id} data-testid="token-row">
                      <td className="wrap">{t.name}</td>
                      <td className="mono">{t.prefix}…</td>
                      <td>{t.lastUsedAt ? formatDate(t.lastUsedAt) : 'never'}</td>
                      <td>
                        {t.revokedAt ? (
                          <span data-testid="token-revoked">revoked</span>
                        ) : (
                          <button type="button" className="button-danger" onClick={() => act(gql(REVOKE_API_TOKEN, { id: t.id }))} data-testid="revoke-token">
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </ScrollTable>
              </PageState>
            </section>
            {/* Owners only: the API refuses others, so the section is not offered to them. */}
            {owner ? <AuditLog teamId={id} members={team.members} /> : null}
          </>
        ) : null}
      </main>
    </>
  );
}
