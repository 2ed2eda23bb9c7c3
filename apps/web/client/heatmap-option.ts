/**
 * The ECharts option of the sensitivity heatmap: layers down, probes across, colour by the
 * chosen measure. Layer names are shortened on the axis (whole in the tooltip and the
 * table beside the chart); tooltip text is escaped, as ECharts renders it as HTML.
 */
import type { ChartOption } from '../components/echarts-setup';
import { escapeHtml } from './escape-html';
import { formatScore, formatSignificant } from './metric-format';
import { layerAxisLabels, SENSITIVITY_MEASURES, type HeatCell, type HeatmapGrid, type SensitivityMeasure } from './sensitivity-heatmap';

const MUTED = '#667085';
/** Cool (insensitive) to hot (sensitive). */
const COLOURS = ['#f1f5fe', '#a5b8f3', '#5b7be0', '#e8590c', '#a8320a'];

export function formatMeasure(value: number | null, measure: SensitivityMeasure): string {
  if (value === null) return 'not finite';
  if (measure === 'top1Drop') return `${formatSignificant(value * 100, 3)} %`;
  if (measure === 'pplDelta') return `${value >= 0 ? '+' : ''}${formatScore(value)}`;
  return formatSignificant(value, 3);
}

/** Height in pixels that gives every layer a readable row. */
export function heatmapHeight(grid: HeatmapGrid): number {
  return Math.max(220, grid.layers.length * 22 + 110);
}

export function heatmapOption(grid: HeatmapGrid, measure: SensitivityMeasure): ChartOption {
  const m = SENSITIVITY_MEASURES.find((x) => x.key === measure)!;
  const tooltip = (c: HeatCell) =>
    `<b>${escapeHtml(c.row.layer)}</b>` +
    `<br>probe: ${escapeHtml(grid.probes[c.x]!)}` +
    `<br>${escapeHtml(m.label)}: ${escapeHtml(formatMeasure(c.value, measure))}${m.unit && m.unit !== '%' && c.value !== null ? ` ${escapeHtml(m.unit)}` : ''}` +
    `<br>KL ${escapeHtml(formatMeasure(c.row.kl, 'kl'))} · top-1 ${c.row.top1 === null ? '—' : escapeHtml(`${formatSignificant(c.row.top1 * 100, 3)} %`)} · perplexity ${escapeHtml(formatMeasure(c.row.pplDelta, 'pplDelta'))}` +
    (c.row.bitsPerWeight !== null ? `<br>${escapeHtml(formatSignificant(c.row.bitsPerWeight, 3))} bits per weight stored` : '') +
    `<br><span style="color:${MUTED}">${escapeHtml(c.row.weights.toLocaleString('en-US'))} weights</span>`;
  const showLabels = grid.cells.length <= 160 && grid.probes.length <= 8;
  return {
    animation: false,
    grid: { left: 8, right: 16, top: 12, bottom: 86, containLabel: true },
    tooltip: { trigger: 'item', confine: true, formatter: (p: { data?: { cell: HeatCell } }) => (p.data ? tooltip(p.data.cell) : '') },
    xAxis: {
      type: 'category',
      data: grid.probes,
      name: 'Probe (this layer alone)',
      nameLocation: 'middle',
      nameGap: 28,
      splitArea: { show: true },
      axisLabel: { color: MUTED },
      nameTextStyle: { color: '#1d2330', fontWeight: 600 },
    },
    yAxis: {
      type: 'category',
      data: layerAxisLabels(grid.layers),
      inverse: true,
      splitArea: { show: true },
      axisLabel: { color: MUTED, fontFamily: 'monospace', fontSize: 11 },
    },
    visualMap: {
      type: 'continuous',
      min: grid.min,
      max: grid.max > grid.min ? grid.max : grid.min + 1e-9,
      calculable: true,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 220,
      text: [`more sensitive`, `${m.label}: less`],
      textStyle: { color: MUTED },
      formatter: (v: number) => formatMeasure(v, measure),
      inRange: { color: COLOURS },
    },
    series: [
      {
        name: m.label,
        type: 'heatmap',
        // Cells whose measurement is not finite are left blank ('-' is ECharts' empty value).
        data: grid.cells.map((c) => ({ value: [c.x, c.y, c.value ?? '-'], cell: c })),
        label: { show: showLabels, fontSize: 10, formatter: (p: { data: { cell: HeatCell } }) => (p.data.cell.value === null ? '' : formatMeasure(p.data.cell.value, measure)) },
        emphasis: { itemStyle: { borderColor: '#1d2330', borderWidth: 1 } },
      },
    ],
  };
}
