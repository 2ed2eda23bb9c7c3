'use client';
/** Team invitations: the ones addressed to you (accept or decline), and the owner's invite form. */
import { useState, type FormEvent } from 'react';
import { gql } from '../client/graphql';
import { ACCEPT_INVITATION, DECLINE_INVITATION, INVITE_MEMBER, type PendingInvitation } from '../client/queries';

export function PendingInvitations({ invitations, onChange }: { invitations: PendingInvitation[]; onChange: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  if (invitations.length === 0) return null;

  async function answer(id: string, accept: boolean) {
    setError(null);
    try {
      await gql(accept ? ACCEPT_INVITATION : DECLINE_INVITATION, { id });
      await onChange();
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <section className="card" data-testid="invitations">
      <h2>Invitations</h2>
      <ul className="project-list">
        {invitations.map((i) => (
          <li key={i.id} data-testid="invitation">
            <span>
              <strong>{i.teamName}</strong> as {i.role}
              {i.invitedBy ? <span className="muted"> — from {i.invitedBy}</span> : null}
            </span>
            <span>
              <button type="button" className="button-secondary" onClick={() => void answer(i.id, true)}>
                Accept
              </button>{' '}
              <button type="button" className="button-link" onClick={() => void answer(i.id, false)}>
                Decline
              </button>
            </span>
          </li>
        ))}
      </ul>
      {error ? <div className="error">{error}</div> : null}
    </section>
  );
}

export function InviteForm({ teamId }: { teamId: string }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('member');
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function invite(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setNote(null);
    try {
      await gql(INVITE_MEMBER, { teamId, email, role });
      // The same note whether or not the address has an account: nothing to learn here.
      setNote(`Invited ${email}: they join once they accept (after signing up, if they have no account yet).`);
      setEmail('');
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <form className="inline-form" onSubmit={invite} style={{ marginTop: '0.5rem' }}>
      <input aria-label="Invite email" type="email" placeholder="Invite by email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      <select aria-label="Invite role" value={role} onChange={(e) => setRole(e.target.value)}>
        <option value="viewer">viewer</option>
        <option value="member">member</option>
        <option value="owner">owner</option>
      </select>
      <button className="button-secondary" type="submit">
        Invite
      </button>
      {note ? <span className="muted" data-testid="invite-note">{note}</span> : null}
      {error ? <div className="error">{error}</div> : null}
    </form>
  );
}
