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

export function chartGeometry(points: ReadonlyArray<SeriesPoint>, box: ChartBox, tickCount = 5): ChartGeometry {
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return { path: '', xTicks: [], yTicks: [] };
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  // A flat or single-point series sits in the middle instead of dividing by zero.
  const sx = (x: number) => box.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
  const sy = (y: number) => box.top + (y1 === y0 ? plotH / 2 : (1 - (y - y0) / (y1 - y0)) * plotH);
  const round = (v: number) => Math.round(v * 100) / 100;
  const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(sx(p.x))} ${round(sy(p.y))}`).join(' ');
  return {
    path,
    xTicks: ticks(x0, x1, tickCount).map((value) => ({ value, at: round(sx(value)) })),
    yTicks: ticks(y0, y1, tickCount).map((value) => ({ value, at: round(sy(value)) })),
  };
}
