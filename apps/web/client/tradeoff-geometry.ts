/**
 * The size/quality trade-off scatter plot: which points it shows (one per succeeded run with
 * both a size and a perplexity, plus one per distinct base model) and where they sit in SVG
 * coordinates. Pure, so the e2e unit test checks it directly; axes reuse chart-geometry.ts.
 */
import { extent, plotScales, roundCoord, ticks, type ChartBox } from './chart-geometry';
import { recipeSummary } from './format';
import type { RunRow } from './queries';

export interface TradeoffPoint {
  /** A run's id, or `base:<model id>` for a base model. */
  key: string;
  kind: 'run' | 'base';
  /** The recipe's technique ids for a run ("a → b"), the model's name for a base model. */
  label: string;
  /** Model size on disk, in bytes (x). */
  bytes: number;
  /** Perplexity, lower is better (y). */
  perplexity: number;
}

export interface PlacedPoint extends TradeoffPoint {
  cx: number;
  cy: number;
}

export interface TradeoffGeometry {
  points: PlacedPoint[];
  /** Padded data ranges the axes span. */
  xRange: [number, number];
  yRange: [number, number];
  xTicks: { value: number; at: number }[];
  yTicks: { value: number; at: number }[];
}

function runMetric(run: RunRow, name: string): number | undefined {
  const v = run.metrics.find((m) => m.name === name && m.runStepId === null)?.value;
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/**
 * One point per succeeded run that has both `size.bytes` and `perplexity`, then one per
 * distinct base model of those runs (from their `base.size.bytes` / `base.perplexity`).
 * Empty when no run has both metrics: no chart rather than a lone base point.
 */
export function tradeoffPoints(runs: ReadonlyArray<RunRow>): TradeoffPoint[] {
  const out: TradeoffPoint[] = [];
  const bases = new Map<string, TradeoffPoint>();
  for (const run of runs) {
    if (run.status !== 'succeeded') continue;
    const bytes = runMetric(run, 'size.bytes');
    const perplexity = runMetric(run, 'perplexity');
    if (bytes === undefined || perplexity === undefined) continue;
    out.push({ key: run.id, kind: 'run', label: recipeSummary(run.recipe), bytes, perplexity });
    const baseBytes = runMetric(run, 'base.size.bytes');
    const basePpl = runMetric(run, 'base.perplexity');
    const baseKey = `base:${run.baseModel.id}`;
    if (baseBytes !== undefined && basePpl !== undefined && !bases.has(baseKey)) {
      bases.set(baseKey, { key: baseKey, kind: 'base', label: run.baseModel.name, bytes: baseBytes, perplexity: basePpl });
    }
  }
  return out.length === 0 ? [] : [...out, ...bases.values()];
}

/**
 * The range an axis spans: [lo, hi] widened to at least `minRelativeSpan` of its largest
 * magnitude (so a change of a hair doesn't fill the whole plot as if it were large), then
 * padded by `fraction` of that span on each side so no point sits on the frame; never below
 * 0 for non-negative data, as sizes and perplexities are.
 */
export function padRange(lo: number, hi: number, fraction = 0.1, minRelativeSpan = 0.02): [number, number] {
  const floor = Math.max(Math.abs(lo), Math.abs(hi)) * minRelativeSpan;
  if (floor === 0 && hi === lo) return [lo >= 0 ? Math.max(0, lo - 0.5) : lo - 0.5, hi + 0.5];
  let [a, b] = [lo, hi];
  if (b - a < floor) {
    const mid = (lo + hi) / 2;
    [a, b] = [mid - floor / 2, mid + floor / 2];
  }
  const pad = (b - a) * fraction;
  return [lo >= 0 ? Math.max(0, a - pad) : a - pad, b + pad];
}

export function tradeoffGeometry(points: ReadonlyArray<TradeoffPoint>, box: ChartBox, tickCount = 5): TradeoffGeometry {
  const pts = points.filter((p) => Number.isFinite(p.bytes) && Number.isFinite(p.perplexity));
  if (pts.length === 0) return { points: [], xRange: [0, 0], yRange: [0, 0], xTicks: [], yTicks: [] };
  const xRange = padRange(...extent(pts.map((p) => p.bytes)));
  const yRange = padRange(...extent(pts.map((p) => p.perplexity)));
  const { sx, sy } = plotScales(xRange, yRange, box);
  return {
    points: pts.map((p) => ({ ...p, cx: roundCoord(sx(p.bytes)), cy: roundCoord(sy(p.perplexity)) })),
    xRange,
    yRange,
    xTicks: ticks(xRange[0], xRange[1], tickCount).map((value) => ({ value, at: roundCoord(sx(value)) })),
    yTicks: ticks(yRange[0], yRange[1], tickCount).map((value) => ({ value, at: roundCoord(sy(value)) })),
  };
}

export const MB = 1024 ** 2;

/**
 * A tick's label with just enough decimals for ticks `step` apart to read differently:
 * "0.32" for steps of 0.09, "418.52" for steps of 0.03, "419" for steps of 2.1.
 */
export function tickLabel(value: number, step: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = step > 0 && Number.isFinite(step) ? Math.min(6, Math.max(0, -Math.floor(Math.log10(step)))) : 2;
  return value.toFixed(digits);
}
