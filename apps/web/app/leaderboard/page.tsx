'use client';
/**
 * Runs ranked by one figure, per evaluation suite version: the viewer's team, or every
 * team that opted in (`/leaderboard?team=<id>`), with size, latency and technique filters.
 */
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useMemo, useState, type FormEvent } from 'react';
import { NavBar } from '../../components/NavBar';
import { PageState } from '../../components/PageState';
import { useSession } from '../../components/useSession';
import { gql } from '../../client/graphql';
import { LEADERBOARD, RANKABLE_METRICS, parseBudget, rankableMetrics, type LeaderboardAnswer, type LeaderboardScope, type MetricChoice } from '../../client/leaderboard';
import { formatInUnit } from '../../client/metric-format';
import { TECHNIQUES, TEAMS, type TeamWithProjects, type Technique } from '../../client/queries';

// Sizes are shown in binary megabytes (formatBytes), so budgets are read the same way.
const MB = 1024 * 1024;

interface Query {
  teamId: string;
  scope: LeaderboardScope;
  metric: string;
  suiteVersion: number;
  family: string;
  maxSizeBytes: number | null;
  maxDecodeMsP50: number | null;
}

export default function LeaderboardPage() {
  return (
    <Suspense fallback={<PageState what="leaderboard" loading />}>
      <Leaderboard />
    </Suspense>
  );
}

function Leaderboard() {
  useSession();
  const search = useSearchParams();
  const [teams, setTeams] = useState<TeamWithProjects[] | null>(null);
  const [metrics, setMetrics] = useState<MetricChoice[]>([]);
  const [families, setFamilies] = useState<string[]>([]);
  const [setupError, setSetupError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([gql<{ teams: TeamWithProjects[] }>(TEAMS), gql<{ metricCatalogue: MetricChoice[] }>(RANKABLE_METRICS), gql<{ techniques: Technique[] }>(TECHNIQUES)]).then(
      ([t, m, k]) => {
        setTeams(t.teams);
        setMetrics(rankableMetrics(m.metricCatalogue));
        setFamilies([...new Set(k.techniques.map((x) => x.family))].sort());
      },
      (e: Error) => setSetupError(e.message),
    );
  }, []);

  const [form, setForm] = useState({ teamId: '', scope: 'TEAM' as LeaderboardScope, metric: 'perplexity', suiteVersion: '1', family: '', maxSizeMb: '', maxDecodeMs: '' });
  const [formError, setFormError] = useState<string | null>(null);
  const [query, setQuery] = useState<Query | null>(null);
  // The team in the link, else the first one, once the teams are known.
  useEffect(() => {
    if (!teams || form.teamId) return;
    const wanted = search?.get('team');
    const teamId = teams.find((t) => t.id === wanted)?.id ?? teams[0]?.id ?? '';
    setForm((f) => ({ ...f, teamId }));
    setQuery({ teamId, scope: 'TEAM', metric: form.metric, suiteVersion: 1, family: '', maxSizeBytes: null, maxDecodeMsP50: null });
  }, [teams, search, form.teamId, form.metric]);

  const [board, setBoard] = useState<LeaderboardAnswer['leaderboard'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    if (!query || (query.scope === 'TEAM' && !query.teamId)) return;
    let live = true;
    setLoading(true);
    setError(null);
    const filter = { maxSizeBytes: query.maxSizeBytes, maxDecodeMsP50: query.maxDecodeMsP50, techniqueFamily: query.family || null };
    gql<LeaderboardAnswer>(LEADERBOARD, { metric: query.metric, scope: query.scope, teamId: query.scope === 'TEAM' ? query.teamId : null, suiteVersion: query.suiteVersion, filter, first: 50 })
      .then((d) => live && setBoard(d.leaderboard), (e: Error) => live && setError(e.message))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [query]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    try {
      const suiteVersion = Number(form.suiteVersion);
      if (!Number.isInteger(suiteVersion) || suiteVersion < 1) throw new Error(`suite version must be a positive whole number, got "${form.suiteVersion}"`);
      setQuery({
        teamId: form.teamId,
        scope: form.scope,
        metric: form.metric,
        suiteVersion,
        family: form.family,
        maxSizeBytes: parseBudget(form.maxSizeMb, MB, 'the size budget'),
        maxDecodeMsP50: parseBudget(form.maxDecodeMs, 1, 'the latency budget'),
      });
      setFormError(null);
    } catch (err) {
      setFormError((err as Error).message);
    }
  };

  const teamName = useMemo(() => teams?.find((t) => t.id === form.teamId)?.name, [teams, form.teamId]);
  const noTeams = teams !== null && teams.length === 0;
  return (
    <>
      <NavBar crumbs={[{ label: 'Leaderboard' }]} />
      <main>
        <div className="page-head">
          <div>
            <h1>Leaderboard</h1>
            <p className="muted">Succeeded runs ranked by one figure; only runs scored with the same evaluation suite version are ranked together.</p>
          </div>
        </div>
        <PageState loading={!teams && !setupError} error={setupError} what="teams and metrics" />
        <PageState what="teams" empty={noTeams ? 'Join or create a team to see its leaderboard.' : null} testId="leaderboard-teams" />
        {teams && !noTeams ? (
          <form className="card toolbar filters-form" onSubmit={submit} aria-label="leaderboard filters" data-testid="leaderboard-form">
            <fieldset className="toolbar" style={{ border: 'none', padding: 0, margin: 0 }}>
              <legend className="sr-only">Scope</legend>
              <label>
                <input type="radio" name="scope" value="TEAM" checked={form.scope === 'TEAM'} onChange={() => setForm({ ...form, scope: 'TEAM' })} data-testid="scope-team" /> My team
              </label>
              <label>
                <input type="radio" name="scope" value="PUBLIC" checked={form.scope === 'PUBLIC'} onChange={() => setForm({ ...form, scope: 'PUBLIC' })} data-testid="scope-public" /> All public teams
              </label>
            </fieldset>
            <label>
              Team{' '}
              <select value={form.teamId} onChange={(e) => setForm({ ...form, teamId: e.target.value })} disabled={form.scope === 'PUBLIC'} data-testid="leaderboard-team">
                {teams.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Ranked by{' '}
              <select value={form.metric} onChange={(e) => setForm({ ...form, metric: e.target.value })} data-testid="leaderboard-metric">
                {(metrics.length ? metrics : [{ name: form.metric, label: form.metric }]).map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Technique{' '}
              <select value={form.family} onChange={(e) => setForm({ ...form, family: e.target.value })} data-testid="leaderboard-family">
                <option value="">any</option>
                {families.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Size at most (MB){' '}
              <input inputMode="decimal" size={6} value={form.maxSizeMb} onChange={(e) => setForm({ ...form, maxSizeMb: e.target.value })} data-testid="leaderboard-max-size" />
            </label>
            <label>
              Decode p50 at most (ms){' '}
              <input inputMode="decimal" size={6} value={form.maxDecodeMs} onChange={(e) => setForm({ ...form, maxDecodeMs: e.target.value })} data-testid="leaderboard-max-latency" />
            </label>
            <label>
              Suite version{' '}
              <input inputMode="numeric" size={3} value={form.suiteVersion} onChange={(e) => setForm({ ...form, suiteVersion: e.target.value })} />
            </label>
            <button type="submit" className="button" data-testid="leaderboard-apply">
              Show
            </button>
          </form>
        ) : null}
        {formError ? (
          <div className="error" role="alert" data-testid="leaderboard-form-error">
            {formError}
          </div>
        ) : null}
        <PageState loading={loading && !board} error={error} what="leaderboard" onRetry={() => setQuery((q) => (q ? { ...q } : q))} />
        {board ? (
          <section className="card" aria-labelledby="board-head" aria-busy={loading}>
            <h2 id="board-head">
              {board.metric.label} · {board.scope === 'TEAM' ? (teamName ?? 'team') : 'all public teams'} · {board.suite} v{board.suiteVersion}
            </h2>
            <PageState what="leaderboard" empty={board.entries.length === 0 ? 'No succeeded runs scored with this suite version match these filters.' : null} testId="leaderboard">
              <div className="table-scroll">
                <table data-testid="leaderboard-table">
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">{board.metric.label}</th>
                      <th scope="col">Run</th>
                      <th scope="col">Techniques</th>
                      <th scope="col">Size</th>
                      <th scope="col">Decode p50</th>
                      {board.scope === 'PUBLIC' ? <th scope="col">Team</th> : null}
                    </tr>
                  </thead>
                  <tbody>
                    {board.entries.map((e) => (
                      <tr key={e.runId} data-testid="leaderboard-row">
                        <td>{e.rank}</td>
                        <td className="mono" data-testid="leaderboard-value" data-value={e.value}>
                          {formatInUnit(e.value, board.metric.unit, board.metric.label)}
                        </td>
                        <td className="wrap">
                          {e.run ? (
                            <Link href={`/runs/${e.run.id}`} prefetch={false}>
                              {e.projectName} · {e.runId.slice(0, 8)}
                            </Link>
                          ) : (
                            <span>{e.projectName}</span>
                          )}
                        </td>
                        <td className="mono wrap">{e.techniques.join(' → ')}</td>
                        <td className="mono">{e.sizeBytes === null ? '—' : formatInUnit(e.sizeBytes, 'bytes')}</td>
                        <td className="mono">{e.decodeMsP50 === null ? '—' : formatInUnit(e.decodeMsP50, 'ms')}</td>
                        {board.scope === 'PUBLIC' ? <td className="wrap">{e.teamName}</td> : null}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </PageState>
          </section>
        ) : null}
      </main>
    </>
  );
}
