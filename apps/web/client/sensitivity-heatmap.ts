/**
 * A run's per-layer sensitivity (Run.sensitivity) arranged as a heatmap grid: one row per
 * layer in model order, one column per probe (bits ascending, then sparsity ascending), and
 * a cell value for the chosen measure, oriented so that a higher value always means a more
 * sensitive layer. Pure.
 */

export interface LayerSensitivity {
  layer: string;
  weights: number;
  bits: number | null;
  sparsity: number | null;
  bitsPerWeight: number | null;
  kl: number | null;
  top1: number | null;
  pplDelta: number | null;
}

export type SensitivityMeasure = 'kl' | 'pplDelta' | 'top1Drop';

export const SENSITIVITY_MEASURES: ReadonlyArray<{ key: SensitivityMeasure; label: string; unit: string }> = [
  { key: 'kl', label: 'KL divergence', unit: 'nats/token' },
  { key: 'pplDelta', label: 'Perplexity increase', unit: '' },
  { key: 'top1Drop', label: 'Top-1 disagreement', unit: '%' },
];

export interface HeatCell {
  /** Column (probe) and row (layer) indices. */
  x: number;
  y: number;
  /** null when the measurement was not finite. */
  value: number | null;
  row: LayerSensitivity;
}

export interface HeatmapGrid {
  layers: string[];
  probes: string[];
  cells: HeatCell[];
  /** Range of the finite values (0..0 when there are none). */
  min: number;
  max: number;
}

export function probeLabel(row: Pick<LayerSensitivity, 'bits' | 'sparsity'>): string {
  if (row.bits !== null) return `${row.bits}-bit`;
  if (row.sparsity !== null) return `${Math.round(row.sparsity * 1000) / 10}% pruned`;
  return 'unknown probe';
}

function probeOrder(row: Pick<LayerSensitivity, 'bits' | 'sparsity'>): number {
  // Bits first (fewest first: the harshest probe leads), then sparsity (lightest first).
  return row.bits !== null ? row.bits : row.sparsity !== null ? 1000 + row.sparsity : 2000;
}

export function measureValue(row: LayerSensitivity, measure: SensitivityMeasure): number | null {
  const v = measure === 'kl' ? row.kl : measure === 'pplDelta' ? row.pplDelta : row.top1 === null ? null : 1 - row.top1;
  return v !== null && Number.isFinite(v) ? v : null;
}

export function sensitivityGrid(rows: ReadonlyArray<LayerSensitivity>, measure: SensitivityMeasure): HeatmapGrid {
  const layers: string[] = [];
  const layerIndex = new Map<string, number>();
  for (const r of rows) {
    if (!layerIndex.has(r.layer)) {
      layerIndex.set(r.layer, layers.length);
      layers.push(r.layer);
    }
  }
  const probeRows = new Map<string, number>();
  for (const r of rows) probeRows.set(probeLabel(r), probeOrder(r));
  const probes = [...probeRows.entries()].sort((a, b) => a[1] - b[1]).map(([label]) => label);
  const probeIndex = new Map(probes.map((p, i) => [p, i]));
  let min = Infinity;
  let max = -Infinity;
  const cells = rows.map((row) => {
    const value = measureValue(row, measure);
    if (value !== null) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    return { x: probeIndex.get(probeLabel(row))!, y: layerIndex.get(row.layer)!, value, row };
  });
  return { layers, probes, cells, min: Number.isFinite(min) ? min : 0, max: Number.isFinite(max) ? max : 0 };
}

/** The cell with the highest value: the layer a mixed-precision plan should spare first. */
export function mostSensitive(grid: HeatmapGrid): HeatCell | null {
  let best: HeatCell | null = null;
  for (const c of grid.cells) if (c.value !== null && (best === null || c.value > best.value!)) best = c;
  return best;
}

/** At most this many characters of a layer name on the axis (the tooltip and table give it whole). */
const AXIS_LABEL_CHARS = 30;

/**
 * Axis labels for layer names such as `/model/layers.0/self_attn/q_proj/MatMul`: a last
 * path segment every name shares (the op) is dropped, and a long name keeps its last
 * whole segments (which say which projection it is) behind an ellipsis.
 */
export function layerAxisLabels(layers: ReadonlyArray<string>): string[] {
  const last = (n: string) => n.slice(n.lastIndexOf('/') + 1);
  const shared = layers.length > 1 && layers.every((n) => n.includes('/') && last(n) === last(layers[0]!)) ? `/${last(layers[0]!)}` : '';
  return layers.map((n) => {
    const label = (shared ? n.slice(0, -shared.length) : n).replace(/^\//, '');
    if (label.length <= AXIS_LABEL_CHARS) return label;
    // Whole segments where possible: "…/layers.0/self_attn/q_proj", not "…del/layers.0/...".
    const parts = label.split('/');
    while (parts.length > 1 && `…/${parts.join('/')}`.length > AXIS_LABEL_CHARS) parts.shift();
    const kept = `…/${parts.join('/')}`;
    return kept.length <= AXIS_LABEL_CHARS ? kept : `…${label.slice(label.length - AXIS_LABEL_CHARS + 1)}`;
  });
}
