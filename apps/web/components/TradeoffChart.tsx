/** A small hand-drawn SVG scatter plot of model size against perplexity, runs and base models. */
import type { RunRow } from '../client/queries';
import { formatBytes, formatMetric } from '../client/format';
import { MB, tickLabel, tradeoffGeometry, tradeoffPoints } from '../client/tradeoff-geometry';

const BOX = { width: 560, height: 250, left: 76, right: 16, top: 12, bottom: 46 };

export function TradeoffChart({ runs }: { runs: RunRow[] }) {
  const points = tradeoffPoints(runs);
  // No run with both a size and a perplexity yet: no chart at all, rather than an empty one.
  if (points.length === 0) return null;
  const g = tradeoffGeometry(points, BOX, 5);
  const plotBottom = BOX.height - BOX.bottom;
  const xStep = g.xTicks.length > 1 ? g.xTicks[1].value - g.xTicks[0].value : 0;
  const yStep = g.yTicks.length > 1 ? g.yTicks[1].value - g.yTicks[0].value : 0;
  const plotMidX = BOX.left + (BOX.width - BOX.left - BOX.right) / 2;
  const plotMidY = BOX.top + (plotBottom - BOX.top) / 2;
  return (
    <figure className="chart" data-testid="tradeoff-chart">
      <figcaption>
        Size vs. perplexity <span className="chart-note">lower left is better</span>
      </figcaption>
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-label="Model size against perplexity">
        {g.yTicks.map((t) => (
          <g key={`y${t.at}`}>
            <line x1={BOX.left} x2={BOX.width - BOX.right} y1={t.at} y2={t.at} className="chart-grid" />
            <text x={BOX.left - 8} y={t.at + 4} textAnchor="end" className="chart-label">
              {tickLabel(t.value, yStep)}
            </text>
          </g>
        ))}
        {g.xTicks.map((t) => (
          <g key={`x${t.at}`}>
            <line x1={t.at} x2={t.at} y1={BOX.top} y2={plotBottom} className="chart-grid" />
            <text x={t.at} y={plotBottom + 18} textAnchor="middle" className="chart-label">
              {tickLabel(t.value / MB, xStep / MB)}
            </text>
          </g>
        ))}
        <line x1={BOX.left} x2={BOX.width - BOX.right} y1={plotBottom} y2={plotBottom} className="chart-axis" />
        <line x1={BOX.left} x2={BOX.left} y1={BOX.top} y2={plotBottom} className="chart-axis" />
        <text x={plotMidX} y={BOX.height - 6} textAnchor="middle" className="chart-label chart-axis-title">
          Size on disk (MB)
        </text>
        <text
          x={16}
          y={plotMidY}
          textAnchor="middle"
          transform={`rotate(-90 16 ${plotMidY})`}
          className="chart-label chart-axis-title"
        >
          Perplexity
        </text>
        {g.points.map((p) => {
          const title = `${p.kind === 'base' ? `${p.label} (base model)` : p.label}: ${formatBytes(p.bytes)}, perplexity ${formatMetric('perplexity', p.perplexity)}`;
          // Labels sit beside their point, on whichever side keeps them inside the plot.
          const right = p.cx < plotMidX;
          return (
            <g key={p.key} data-testid="tradeoff-point" data-kind={p.kind} data-key={p.key} className="chart-point-group">
              <title>{title}</title>
              {p.kind === 'base' ? (
                <rect x={p.cx - 5} y={p.cy - 5} width={10} height={10} className="chart-point-base" />
              ) : (
                <circle cx={p.cx} cy={p.cy} r={5} className="chart-point" />
              )}
              <text x={p.cx + (right ? 9 : -9)} y={p.cy + 4} textAnchor={right ? 'start' : 'end'} className="chart-label chart-point-label">
                {p.kind === 'base' ? `${p.label} (base)` : p.label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
