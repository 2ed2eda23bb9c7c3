/** Maps a metric series onto SVG coordinates (y grows downward in SVG). */

export interface SeriesPoint {
  x: number;
  y: number;
}

export interface ChartGeometry {
  /** SVG path data, "M x y L x y ..."; empty for no points. */
  path: string;
  xTicks: { value: number; at: number }[];
  yTicks: { value: number; at: number }[];
}

export interface ChartBox {
  width: number;
  height: number;
  /** Room left for axis labels. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** `count` evenly spaced values from lo to hi inclusive (a single value when lo = hi). */
export function ticks(lo: number, hi: number, count: number): number[] {
  if (lo === hi || count < 2) return [lo];
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
}

/** Rounds an SVG coordinate to two decimals, so paths and tests read cleanly. */
export function roundCoord(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Smallest and largest of some values. */
export function extent(values: ReadonlyArray<number>): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/**
 * Linear maps from data ranges onto the plot area of `box`, y pointing down. A flat range
 * (lo = hi) maps to the middle instead of dividing by zero.
 */
export function plotScales(
  [x0, x1]: readonly [number, number],
  [y0, y1]: readonly [number, number],
  box: ChartBox,
): { sx: (x: number) => number; sy: (y: number) => number } {
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  return {
    sx: (x) => box.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW),
    sy: (y) => box.top + (y1 === y0 ? plotH / 2 : (1 - (y - y0) / (y1 - y0)) * plotH),
  };
}

export function chartGeometry(points: ReadonlyArray<SeriesPoint>, box: ChartBox, tickCount = 5): ChartGeometry {
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return { path: '', xTicks: [], yTicks: [] };
  const [x0, x1] = extent(pts.map((p) => p.x));
  const [y0, y1] = extent(pts.map((p) => p.y));
  const { sx, sy } = plotScales([x0, x1], [y0, y1], box);
  const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${roundCoord(sx(p.x))} ${roundCoord(sy(p.y))}`).join(' ');
  return {
    path,
    xTicks: ticks(x0, x1, tickCount).map((value) => ({ value, at: roundCoord(sx(value)) })),
    yTicks: ticks(y0, y1, tickCount).map((value) => ({ value, at: roundCoord(sy(value)) })),
  };
}
