/** A loss curve as a few lines of text, for terminals and logs. */
export function asciiCurve(points: { step: number; loss: number }[], width = 60, height = 12): string {
  if (points.length === 0) return '(no points)';
  const losses = points.map((p) => p.loss);
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const grid = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  const lastStep = points[points.length - 1]!.step;
  const firstStep = points[0]!.step;
  for (const p of points) {
    const x = lastStep === firstStep ? 0 : Math.round(((p.step - firstStep) / (lastStep - firstStep)) * (width - 1));
    const y = height - 1 - Math.round(((p.loss - lo) / span) * (height - 1));
    grid[y]![x] = '*';
  }
  const label = (v: number) => v.toFixed(2).padStart(7);
  const rows = grid.map((r, i) => `${i === 0 ? label(hi) : i === height - 1 ? label(lo) : ' '.repeat(7)} |${r.join('')}`);
  rows.push(`${' '.repeat(8)}+${'-'.repeat(width)}`);
  rows.push(`${' '.repeat(9)}step ${firstStep}${' '.repeat(Math.max(1, width - 12 - String(lastStep).length))}${lastStep}`);
  return rows.join('\n');
}
