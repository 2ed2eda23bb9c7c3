'use client';
/**
 * A team's audit log for its owners: every mutation call and who made it, newest first,
 * a page at a time ("Show older" follows the API's cursor), optionally only refused calls.
 */
import { useCallback, useEffect, useState } from 'react';
import { formatDate } from '../client/format';
import { gql } from '../client/graphql';
import { AUDIT_LOG, type AuditEvent, type AuditLogAnswer } from '../client/team';
import { PageState } from './PageState';
import { ScrollTable } from './ScrollTable';

const PAGE = 25;

export function AuditLog({ teamId, members }: { teamId: string; members: { userId: string; email: string }[] }) {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [refusedOnly, setRefusedOnly] = useState(false);
  const who = new Map(members.map((m) => [m.userId, m.email]));

  const fetchPage = useCallback(
    async (after: string | null) => {
      setLoading(true);
      try {
        // The API filters by one outcome; "refused" is every outcome but ok, so it is filtered here.
        const r = await gql<AuditLogAnswer>(AUDIT_LOG, { teamId, first: PAGE, after });
        const page = r.auditLog.edges.map((e) => e.node);
        setEvents((prev) => (after ? [...prev, ...page] : page));
        setCursor(r.auditLog.pageInfo.endCursor);
        setMore(r.auditLog.pageInfo.hasNextPage);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      } finally {
        setLoading(false);
      }
    },
    [teamId],
  );
  useEffect(() => {
    void fetchPage(null);
  }, [fetchPage]);

  const shown = refusedOnly ? events.filter((e) => e.outcome !== 'ok') : events;
  return (
    <section className="card" aria-labelledby="audit-head" data-testid="audit-log">
      <div className="section-head">
        <h2 id="audit-head">Audit log</h2>
        <span className="inline-form">
          <label>
            <input type="checkbox" checked={refusedOnly} onChange={(e) => setRefusedOnly(e.target.checked)} data-testid="audit-refused-only" /> Refused calls only
          </label>
          <button type="button" className="button-secondary" onClick={() => void fetchPage(null)} disabled={loading} data-testid="audit-refresh">
            Refresh
          </button>
        </span>
      </div>
      <p className="hint">Every change made in this team and every refused attempt, newest first. Only owners see this.</p>
      {/* Loading shows as the disabled Refresh button: the rows already loaded stay meanwhile. */}
      <PageState loading={false} error={error} what="audit log" />
      {!error && !loading && shown.length === 0 ? <p className="empty">{refusedOnly ? 'No refused call among the events loaded.' : 'Nothing recorded yet.'}</p> : null}
      {shown.length > 0 ? (
        <ScrollTable testId="audit-table" columns={['When', 'Who', 'Action', 'Outcome', 'On', 'From']}>
          {shown.map((e) => (
            <tr key={e.id} data-testid="audit-row" data-action={e.action} data-outcome={e.outcome} data-created-at={e.createdAt}>
              <td>{formatDate(e.createdAt)}</td>
              <td className="wrap">
                {e.actorUserId ? (who.get(e.actorUserId) ?? `former member ${e.actorUserId.slice(0, 8)}`) : 'nobody signed in'}
                {e.credentialKind === 'apiToken' ? <span className="muted small"> (API token)</span> : null}
              </td>
              <td className="mono">{e.action}</td>
              <td>{e.outcome === 'ok' ? 'ok' : <strong className="verdict-worse">{e.outcome}</strong>}</td>
              <td className="mono small wrap" title={e.targetIds.join(', ')}>
                {e.targetIds.map((t) => t.slice(0, 8)).join(', ') || '—'}
              </td>
              <td className="mono small">{e.address ?? '—'}</td>
            </tr>
          ))}
        </ScrollTable>
      ) : null}
      <p className="inline-form">
        <span className="hint" data-testid="audit-count">
          {events.length} events loaded{more ? ', older ones on the server' : ''}
        </span>
        {more ? (
          <button type="button" className="button-secondary" onClick={() => void fetchPage(cursor)} disabled={loading} data-testid="audit-older">
            {loading ? 'Loading…' : 'Show older'}
          </button>
        ) : null}
      </p>
    </section>
  );
}
