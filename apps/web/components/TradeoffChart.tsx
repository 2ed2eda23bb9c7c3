'use client';
/**
 * Trade-off scatter of any two metrics the runs recorded, with the Pareto frontier drawn
 * and the base models marked; hover for details, wheel or slider to zoom, click a run's
 * point to open it. The same points are listed as a table for keyboards and screen readers.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { tradeoffOption } from '../client/chart-options';
import { formatMetricValue, metricMeta } from '../client/metric-format';
import type { RunRow } from '../client/queries';
import { runLevelValues } from '../client/run-summary';
import { scatterPoints } from '../client/tradeoff-points';
import { metricColumnChoices } from '../client/runs-view';
import { EChart } from './EChart';

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

export function TradeoffChart({
  runs,
  labelOf,
  initialX = 'size.bytes',
  initialY = 'perplexity',
}: {
  runs: RunRow[];
  labelOf: (run: RunRow) => string;
  initialX?: string;
  initialY?: string;
}) {
  const router = useRouter();
  const [xName, setX] = useState(initialX);
  const [yName, setY] = useState(initialY);
  // Remounting the chart is the simplest full reset of its zoom.
  const [zoomReset, setZoomReset] = useState(0);
  // Only metrics some run recorded are worth offering.
  const choices = useMemo(() => {
    const present = new Set<string>();
    for (const r of runs) for (const name of runLevelValues(r.metrics).keys()) present.add(name);
    return metricColumnChoices().filter((c) => present.has(c.name));
  }, [runs]);
  const points = useMemo(() => scatterPoints(runs, xName, yName, labelOf), [runs, xName, yName, labelOf]);
  const option = useMemo(() => tradeoffOption(points, xName, yName), [points, xName, yName]);
  if (choices.length === 0) return null;
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
      {points.length === 0 ? (
        <p className="empty">No finished run has both figures yet.</p>
      ) : (
        <>
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
            </summary>
            <table data-testid="tradeoff-table">
              <thead>
                <tr>
                  <th>Run</th>
                  <th className="num">{metricMeta(xName).label}</th>
                  <th className="num">{metricMeta(yName).label}</th>
                  <th>Frontier</th>
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
                    <td>{p.frontier ? 'yes' : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </figure>
  );
}
