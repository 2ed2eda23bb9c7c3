'use client';
/**
 * Trade-off scatter of any two metrics with the Pareto frontier drawn and the base models
 * marked. The API's `pareto` query decides the frontier and the dominated runs (over a
 * project, a sweep, the runs a list filter selects, or the named runs of a comparison); hover for details, wheel or slider
 * to zoom, click a run's point to open it. The same points are listed as a table for
 * keyboards and screen readers.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { tradeoffOption } from '../client/chart-options';
import { gql } from '../client/graphql';
import { formatMetricValue, metricMeta } from '../client/metric-format';
import type { Metric } from '../client/queries';
import { runLevelValues } from '../client/run-summary';
import { baseFiguresQuery, PARETO, paretoAnswer, runPerBase, scatterPoints, type BaseFigures, type ParetoAnswer, type ParetoRun, type ParetoWire } from '../client/tradeoff-points';
import { metricColumnChoices } from '../client/runs-view';
import type { ApiRunFilter } from '../client/run-filters';
import { EChart } from './EChart';
import { PageState } from './PageState';

/** Base models placed at most (one aliased run each). */
const MAX_BASES = 10;

function AxisPicker({ axis, value, choices, onChange }: { axis: 'x' | 'y'; value: string; choices: { name: string; label: string }[]; onChange: (name: string) => void }) {
  return (
    <label>
      {axis}{' '}
      <select aria-label={`${axis} axis metric`} value={value} onChange={(e) => onChange(e.target.value)} data-testid={`tradeoff-${axis}`}>
        {choices.map((c) => (
          <option key={c.name} value={c.name}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export interface TradeoffScope {
  /** Exactly one of projectId and sweepId. */
  projectId?: string;
  sweepId?: string;
  /** Only these runs of the project (a comparison). */
  runIds?: string[];
  /** Only the runs the runs list's filter selects (the API's RunFilter, from apiRunFilter). */
  filter?: ApiRunFilter | null;
}

interface Loaded {
  /** The scope and axes it answers (a stale answer is not drawn on new axes). */
  key: string;
  front: ParetoAnswer;
  bases: Map<string, BaseFigures>;
}

async function loadTradeoff(key: string, scope: TradeoffScope, x: string, y: string): Promise<Loaded> {
  const { pareto: wire } = await gql<{ pareto: ParetoWire }>(PARETO, {
    projectId: scope.sweepId ? null : (scope.projectId ?? null),
    sweepId: scope.sweepId ?? null,
    runIds: scope.runIds ?? null,
    filter: scope.filter ?? null,
    x,
    y,
  });
  const front = paretoAnswer(wire);
  const perBase = [...runPerBase(front).values()].slice(0, MAX_BASES);
  const bases = new Map<string, BaseFigures>();
  if (perBase.length > 0) {
    const answer = await gql<Record<string, { baseModel: { id: string; name: string }; metrics: Metric[] }>>(baseFiguresQuery(perBase.length), Object.fromEntries(perBase.map((id, i) => [`b${i}`, id])));
    for (const r of Object.values(answer)) bases.set(r.baseModel.id, { name: r.baseModel.name, values: runLevelValues(r.metrics) });
  }
  return { key, front, bases };
}

export function TradeoffChart({
  scope,
  labelOf,
  refreshKey = '',
  initialX = 'size.bytes',
  initialY = 'perplexity',
}: {
  scope: TradeoffScope;
  labelOf: (run: ParetoRun) => string;
  /** A change (new or finished runs) asks the API again. */
  refreshKey?: string;
  initialX?: string;
  initialY?: string;
}) {
  const router = useRouter();
  const [xName, setX] = useState(initialX);
  const [yName, setY] = useState(initialY);
  // Remounting the chart is the simplest full reset of its zoom.
  const [zoomReset, setZoomReset] = useState(0);
  // The frontier needs a direction on both axes.
  const choices = useMemo(() => metricColumnChoices().filter((c) => metricMeta(c.name).lowerIsBetter !== null), []);
  const [answer, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const scopeKey = JSON.stringify(scope);
  const key = `${scopeKey} ${xName} ${yName}`;
  const loaded = answer?.key === key ? answer : null;
  useEffect(() => {
    let alive = true;
    setError(null);
    loadTradeoff(key, JSON.parse(scopeKey) as TradeoffScope, xName, yName).then(
      (l) => alive && setLoaded(l),
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [key, scopeKey, xName, yName, refreshKey, attempt]);
  const points = useMemo(() => (loaded ? scatterPoints(loaded.front, xName, yName, labelOf, loaded.bases) : []), [loaded, xName, yName, labelOf]);
  const option = useMemo(() => tradeoffOption(points, xName, yName), [points, xName, yName]);
  const frontier = points.filter((p) => p.frontier);
  return (
    <figure className="chart" data-testid="tradeoff-chart">
      <figcaption>
        <span>Trade-off</span>
        <span className="chart-pickers">
          <AxisPicker axis="x" value={xName} choices={choices} onChange={setX} />
          <AxisPicker axis="y" value={yName} choices={choices} onChange={setY} />
        </span>
      </figcaption>
      <PageState
        what="trade-off"
        loading={!loaded && !error}
        error={error}
        onRetry={() => setAttempt((n) => n + 1)}
        empty={loaded && points.length === 0 ? 'No finished run has both figures yet.' : null}
        testId="tradeoff"
      >
          <EChart
            key={zoomReset}
            option={option}
            height={340}
            label={`${metricMeta(yName).label} against ${metricMeta(xName).label}`}
            testId="tradeoff-canvas"
            onItemClick={(d) => {
              const key = (d as { key?: unknown } | undefined)?.key;
              if (typeof key === 'string' && !key.startsWith('base:')) router.push(`/runs/${key}`);
            }}
          />
          <p className="hint">
            Scroll or pinch to zoom, drag to pan, click a point to open its run.{' '}
            <button type="button" className="button-link" onClick={() => setZoomReset((n) => n + 1)}>
              Reset zoom
            </button>
          </p>
          <details className="chart-data">
            <summary>
              {points.filter((p) => p.kind === 'run').length} runs plotted, {frontier.length} on the Pareto frontier
              {loaded && loaded.front.missing > 0 ? `, ${loaded.front.missing} without both figures` : ''}
            </summary>
            <table data-testid="tradeoff-table">
              <thead>
                <tr>
                  <th>Run</th>
                  <th className="num">{metricMeta(xName).label}</th>
                  <th className="num">{metricMeta(yName).label}</th>
                  <th>Pareto</th>
                </tr>
              </thead>
              <tbody>
                {points.map((p) => (
                  <tr key={p.key} data-testid="tradeoff-point" data-kind={p.kind} data-key={p.key} data-frontier={p.frontier ? 'yes' : 'no'}>
                    <td className="wrap">{p.kind === 'run' ? <Link href={`/runs/${p.key}`} prefetch={false}>
                          {p.label}
                        </Link> : `${p.label} (base model)`}</td>
                    <td className="num">{formatMetricValue(xName, p.x)}</td>
                    <td className="num">{formatMetricValue(yName, p.y)}</td>
                    <td>{p.frontier ? 'frontier' : p.dominatedBy > 0 ? `dominated by ${p.dominatedBy}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
      </PageState>
    </figure>
  );
}
