/**
 * ECharts options for the dashboard's two kinds of chart, built from plain data. Axis
 * labels are formatted in the metric's unit and hidden where they would overlap; every
 * text placed in a tooltip (which ECharts renders as HTML) is escaped first.
 */
import type { ChartOption } from '../components/echarts-setup';
import { escapeHtml } from './escape-html';
import { axisScale, axisTick, axisTitle, formatInUnit, metricMeta } from './metric-format';
import { frontierLine, type ScatterPoint } from './tradeoff-points';

const ACCENT = '#3b5bdb';
const FRONTIER = '#e8590c';
const MUTED = '#667085';

interface ScatterDatum {
  /** Plotted (scaled) coordinates. */
  value: [number, number];
  /** The figures as recorded. */
  raw: [number, number];
  key: string;
  kind: 'run' | 'base';
  label: string;
  frontier: boolean;
  dominatedBy: number;
}

function axis(unit: string, label: string, position: 'x' | 'y') {
  return {
    type: 'value' as const,
    name: axisTitle(label, unit),
    nameLocation: 'middle' as const,
    nameGap: position === 'x' ? 30 : 48,
    scale: true,
    axisLabel: { hideOverlap: true, color: MUTED, formatter: (v: number) => axisTick(v, unit) },
    splitLine: { lineStyle: { color: '#eef0f3' } },
    nameTextStyle: { color: '#1d2330', fontWeight: 600 as const },
  };
}

export function tradeoffOption(points: ReadonlyArray<ScatterPoint>, xName: string, yName: string): ChartOption {
  const xm = metricMeta(xName);
  const ym = metricMeta(yName);
  const sx = axisScale(xm.unit);
  const sy = axisScale(ym.unit);
  const datum = (p: ScatterPoint): ScatterDatum => ({ value: [p.x * sx, p.y * sy], raw: [p.x, p.y], key: p.key, kind: p.kind, label: p.label, frontier: p.frontier, dominatedBy: p.dominatedBy });
  const runs = points.filter((p) => p.kind === 'run').map(datum);
  const bases = points.filter((p) => p.kind === 'base').map(datum);
  const frontier = frontierLine(points).map(datum);
  const tooltip = (d: ScatterDatum) =>
    `<b>${escapeHtml(d.kind === 'base' ? `${d.label} (base model)` : d.label)}</b>` +
    `<br>${escapeHtml(xm.label)}: ${escapeHtml(formatInUnit(d.raw[0], xm.unit, xm.label))}` +
    `<br>${escapeHtml(ym.label)}: ${escapeHtml(formatInUnit(d.raw[1], ym.unit, ym.label))}` +
    (d.frontier ? '<br><i>on the Pareto frontier</i>' : '') +
    (d.dominatedBy > 0 ? `<br>dominated by ${d.dominatedBy} frontier run${d.dominatedBy === 1 ? '' : 's'}` : '') +
    (d.kind === 'run' ? '<br><span style="color:#667085">click to open the run</span>' : '');
  return {
    animation: false,
    grid: { left: 64, right: 20, top: 36, bottom: 48, containLabel: false },
    legend: { top: 0, data: ['Runs', 'Pareto frontier', 'Base model'], textStyle: { color: MUTED } },
    tooltip: { trigger: 'item', confine: true, formatter: (p: { data?: ScatterDatum }) => (p.data ? tooltip(p.data) : '') },
    xAxis: axis(xm.unit, xm.label, 'x'),
    yAxis: axis(ym.unit, ym.label, 'y'),
    // Wheel or pinch zooms, drag pans; the chart's "Reset zoom" button restores the whole view.
    dataZoom: [
      { type: 'inside', xAxisIndex: 0, filterMode: 'empty' },
      { type: 'inside', yAxisIndex: 0, filterMode: 'empty' },
    ],
    series: [
      { name: 'Runs', type: 'scatter', data: runs, symbolSize: 9, itemStyle: { color: ACCENT, opacity: 0.8 }, large: runs.length > 2000, cursor: 'pointer' },
      {
        name: 'Pareto frontier',
        type: 'line',
        data: frontier,
        symbol: 'circle',
        symbolSize: 11,
        lineStyle: { color: FRONTIER, width: 2 },
        itemStyle: { color: FRONTIER },
        z: 3,
        cursor: 'pointer',
      },
      {
        name: 'Base model',
        type: 'scatter',
        data: bases,
        symbol: 'rect',
        symbolSize: 12,
        itemStyle: { color: '#fff', borderColor: '#1d2330', borderWidth: 2 },
        label: { show: true, position: 'right', formatter: (p: { data: ScatterDatum }) => `${p.data.label} (base)`, color: '#1d2330', fontSize: 11 },
        labelLayout: { hideOverlap: true },
      },
    ],
  };
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

export function lineOption(series: ReadonlyArray<LineSeries>, yName: string, xTitle = 'Step'): ChartOption {
  const ym = metricMeta(yName);
  const unit = ym.unit === '?' ? '' : ym.unit;
  const sy = axisScale(unit);
  return {
    animation: false,
    grid: { left: 64, right: 20, top: series.length > 1 ? 40 : 16, bottom: 52 },
    legend: series.length > 1 ? { top: 0, type: 'scroll', textStyle: { color: MUTED } } : undefined,
    tooltip: {
      trigger: 'axis',
      confine: true,
      valueFormatter: (v: unknown) => (typeof v === 'number' ? formatInUnit(v / sy, unit, ym.label) : ''),
    },
    xAxis: { type: 'value', name: xTitle, nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: { hideOverlap: true, color: MUTED }, splitLine: { show: false } },
    yAxis: {
      type: 'value',
      name: axisTitle(ym.label === yName ? yName.split('.').pop()! : ym.label, unit),
      nameLocation: 'middle',
      nameGap: 48,
      scale: true,
      axisLabel: { hideOverlap: true, color: MUTED, formatter: (v: number) => axisTick(v, unit) },
      splitLine: { lineStyle: { color: '#eef0f3' } },
    },
    dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'none' }],
    series: series.map((s) => ({
      // Legend text is drawn on canvas, and ECharts' default tooltip encodes names as HTML text.
      name: s.name,
      type: 'line',
      showSymbol: s.points.length < 60,
      data: s.points.map((p) => [p.x, p.y * sy]),
      large: s.points.length > 2000,
    })),
  };
}
