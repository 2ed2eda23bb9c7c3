'use client';
/** One or more metric series over steps (training loss, evaluation curves), overlaid with a legend. */
import { useMemo } from 'react';
import { lineOption, type LineSeries } from '../client/chart-options';
import { metricMeta } from '../client/metric-format';
import { EChart } from './EChart';

export function LineChart({ name, series, title }: { name: string; series: LineSeries[]; title?: string }) {
  const option = useMemo(() => lineOption(series, name), [series, name]);
  const points = series.reduce((n, s) => n + s.points.length, 0);
  if (points === 0) return null;
  const label = `${title ?? metricMeta(name).label} over steps`;
  return (
    <figure className="chart" data-testid="line-chart" data-series={name} data-points={points}>
      <figcaption>{title ?? name}</figcaption>
      <EChart option={option} label={label} height={240} />
    </figure>
  );
}
