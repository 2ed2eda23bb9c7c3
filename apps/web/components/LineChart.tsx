/** A small hand-drawn SVG line chart for one metric series (e.g. a loss curve). */
import { chartGeometry, type SeriesPoint } from '../client/chart-geometry';
import { formatMetric } from '../client/format';

const BOX = { width: 560, height: 220, left: 64, right: 16, top: 12, bottom: 32 };

export function LineChart({ name, points }: { name: string; points: SeriesPoint[] }) {
  const g = chartGeometry(points, BOX, 5);
  const plotBottom = BOX.height - BOX.bottom;
  return (
    <figure className="chart">
      <figcaption>{name}</figcaption>
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-label={`${name} over steps`}>
        {g.yTicks.map((t) => (
          <g key={`y${t.at}`}>
            <line x1={BOX.left} x2={BOX.width - BOX.right} y1={t.at} y2={t.at} className="chart-grid" />
            <text x={BOX.left - 8} y={t.at + 4} textAnchor="end" className="chart-label">
              {formatMetric(name, t.value)}
            </text>
          </g>
        ))}
        {g.xTicks.map((t) => (
          <text key={`x${t.at}`} x={t.at} y={plotBottom + 20} textAnchor="middle" className="chart-label">
            {Math.round(t.value)}
          </text>
        ))}
        <line x1={BOX.left} x2={BOX.width - BOX.right} y1={plotBottom} y2={plotBottom} className="chart-axis" />
        <path d={g.path} className="chart-line" />
      </svg>
    </figure>
  );
}
