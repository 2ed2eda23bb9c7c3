/**
 * Figures as people expect to read them, driven by the metric catalogue's unit: sizes in
 * KB/MB, decode times in ms/token, perplexity with two or three decimals, fractions as
 * percentages, ratios as "0.512×". Pure; charts, tables and summaries all use these.
 */
import { describeMetric } from '@distillery/eval/metric-catalogue';
import { formatBytes } from './format';

/** Intl formatters are costly to build and the runs list formats thousands of cells: one per decimal count, reused. */
const fixedFormats = new Map<number, Intl.NumberFormat>();
function fixed(value: number, decimals: number): string {
  let f = fixedFormats.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    fixedFormats.set(decimals, f);
  }
  return f.format(value);
}
const plain = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });

/** Significant-digit rounding that keeps integers readable: 49.57, 418.5, 12,345. */
export function formatSignificant(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs < 1e-3 || abs >= 1e9) return value.toExponential(Math.max(0, digits - 1));
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return fixed(value, decimals);
}

/** Perplexity-like figures: 3 decimals below 10, 2 below 100, 1 above. */
export function formatScore(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const decimals = abs < 10 ? 3 : abs < 100 ? 2 : 1;
  return fixed(value, decimals);
}

/** 5,261,568 as "5.26 M"; below a million in full. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${formatSignificant(value / 1e9, 3)} G`;
  if (abs >= 1e6) return `${formatSignificant(value / 1e6, 3)} M`;
  return Number.isInteger(value) ? fixed(value, 0) : formatSignificant(value, 4);
}

/** The unit as shown after a figure (and on an axis); '' for unitless scores. */
export function displayUnit(unit: string, label = ''): string {
  if (unit === 'ms' && /per token/i.test(label)) return 'ms/token';
  if (unit === 'bytes' || unit === 'count' || unit === 'ratio' || unit === 'fraction' || unit === 'flag') return '';
  return unit;
}

/** One figure in its unit, e.g. ("bytes", 10_600_000) → "10.1 MB". */
export function formatInUnit(value: number, unit: string, label = ''): string {
  if (!Number.isFinite(value)) return '—';
  switch (unit) {
    case 'bytes':
      return formatBytes(value);
    case 'count':
      return formatCount(value);
    case 'ratio':
      return `${value.toFixed(3)}×`;
    case 'fraction':
      return `${(value * 100).toFixed(1)} %`;
    case 'flag':
      return value ? 'yes' : 'no';
    case '':
      return formatScore(value);
    case 'tokens':
    case 'windows':
    case 'threads':
    case 'version':
      return formatCount(value);
    default: {
      const shown = displayUnit(unit, label);
      return `${formatSignificant(value, 3)}${shown ? ` ${shown}` : ''}`;
    }
  }
}

/** A signed difference in the metric's unit: "+1.23 MB", "−0.412". */
export function formatDelta(value: number, unit: string, label = ''): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return '±0';
  const sign = value > 0 ? '+' : '−';
  // A difference of fractions reads as percentage points.
  if (unit === 'fraction') return `${sign}${Math.abs(value * 100).toFixed(1)} pt`;
  return `${sign}${formatInUnit(Math.abs(value), unit, label)}`;
}

export interface MetricMeta {
  label: string;
  unit: string;
  lowerIsBetter: boolean | null;
}

/** Label, unit and direction of a stored metric name; a name outside the catalogue reads as itself. */
export function metricMeta(name: string): MetricMeta {
  const d = describeMetric(name);
  if (d) return { label: d.label, unit: d.unit, lowerIsBetter: d.lowerIsBetter };
  return { label: name, unit: /\.bytes$/.test(name) ? 'bytes' : '?', lowerIsBetter: null };
}

/** A stored metric's value as text, by its catalogue unit. */
export function formatMetricValue(name: string, value: number): string {
  const m = metricMeta(name);
  if (m.unit === '?') return formatSignificant(value, 4);
  return formatInUnit(value, m.unit, m.label);
}

/** What chart axes plot instead of raw values, so ticks fall on round numbers of the shown unit: MB for bytes, % for fractions. */
export function axisScale(unit: string): number {
  if (unit === 'bytes') return 1 / 1024 ** 2;
  if (unit === 'fraction') return 100;
  return 1;
}

/** A tick label of an already scaled axis value: "8", "2.5", "1.2 M"; no trailing zeros. */
export function axisTick(scaled: number, unit: string): string {
  if (!Number.isFinite(scaled)) return '';
  if (unit === 'count') return formatCount(scaled);
  return plain.format(Number(scaled.toPrecision(3)));
}

/** Units short enough to repeat in every table cell; others go into the column header once. */
const INLINE_UNITS = new Set(['bytes', 'ratio', 'fraction', 'count', '', 'flag']);

/** A table cell: the figure without a long unit (the header carries it). */
export function formatCell(name: string, value: number): string {
  const m = metricMeta(name);
  if (m.unit === '?' || !INLINE_UNITS.has(m.unit)) return formatSignificant(value, 3);
  return formatInUnit(value, m.unit, m.label);
}

/** The unit a column header names, when its cells leave it out. */
export function headerUnit(name: string): string {
  const m = metricMeta(name);
  return m.unit === '?' || INLINE_UNITS.has(m.unit) ? '' : displayUnit(m.unit, m.label);
}

/** The axis title with its unit: "Size on disk (MB)", "Top-1 agreement (%)". */
export function axisTitle(label: string, unit: string): string {
  if (unit === 'bytes') return `${label} (MB)`;
  if (unit === 'fraction') return `${label} (%)`;
  const shown = displayUnit(unit, label);
  return shown ? `${label} (${shown})` : label;
}
