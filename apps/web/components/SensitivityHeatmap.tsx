'use client';
/**
 * A run's per-layer sensitivity as a heatmap (layers x probes, colour = the chosen
 * measure) with hover details, the most sensitive cell named in words, and every cell
 * as text in a table folded below the drawing.
 */
import { useMemo, useState } from 'react';
import { formatMeasure, heatmapHeight, heatmapOption } from '../client/heatmap-option';
import { mostSensitive, SENSITIVITY_MEASURES, sensitivityGrid, type LayerSensitivity, type SensitivityMeasure } from '../client/sensitivity-heatmap';
import { EChart } from './EChart';
import { ScrollTable } from './ScrollTable';

export function SensitivityHeatmap({ rows }: { rows: LayerSensitivity[] }) {
  const [measure, setMeasure] = useState<SensitivityMeasure>('kl');
  const grid = useMemo(() => sensitivityGrid(rows, measure), [rows, measure]);
  const option = useMemo(() => heatmapOption(grid, measure), [grid, measure]);
  const top = mostSensitive(grid);
  const meta = SENSITIVITY_MEASURES.find((m) => m.key === measure)!;
  return (
    <figure className="chart" data-testid="sensitivity-heatmap" data-layers={grid.layers.length} data-probes={grid.probes.length}>
      <div className="inline-form">
        <label>
          Colour by{' '}
          <select value={measure} onChange={(e) => setMeasure(e.target.value as SensitivityMeasure)} data-testid="sensitivity-measure">
            {SENSITIVITY_MEASURES.map((m) => (
              <option key={m.key} value={m.key}>
                {m.label}
                {m.unit && m.unit !== '%' ? ` (${m.unit})` : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      {top ? (
        <p className="wrap" data-testid="sensitivity-top">
          Most sensitive: <span className="mono">{top.row.layer}</span> at {grid.probes[top.x]} ({meta.label.toLowerCase()} {formatMeasure(top.value, measure)})
        </p>
      ) : (
        <p>No finite measurement to colour.</p>
      )}
      <EChart option={option} label={`${meta.label} of ${grid.layers.length} layers under ${grid.probes.length} probes`} height={heatmapHeight(grid)} testId="sensitivity-canvas" />
      <details>
        <summary>Every cell as a table</summary>
        <ScrollTable testId="sensitivity-table" columns={['Layer', 'Probe', { label: 'KL (nats/token)', num: true }, { label: 'Top-1 agreement', num: true }, { label: 'Perplexity change', num: true }]}>
          {grid.cells.map((c) => (
            <tr key={`${c.y}:${c.x}`} data-testid="sensitivity-cell" data-layer={c.row.layer} data-probe={grid.probes[c.x]}>
              <td className="mono wrap">{c.row.layer}</td>
              <td>{grid.probes[c.x]}</td>
              <td className="num">{formatMeasure(c.row.kl, 'kl')}</td>
              <td className="num">{c.row.top1 === null ? '—' : `${(c.row.top1 * 100).toFixed(1)} %`}</td>
              <td className="num">{formatMeasure(c.row.pplDelta, 'pplDelta')}</td>
            </tr>
          ))}
        </ScrollTable>
      </details>
    </figure>
  );
}
