'use client';
/** Which metric columns the runs list shows, chosen from the metric catalogue. */
import type { MetricColumn } from '../client/runs-view';

export function ColumnPicker({ choices, columns, onChange }: { choices: MetricColumn[]; columns: string[]; onChange(columns: string[]): void }) {
  return (
    <details className="column-picker" data-testid="column-picker">
      <summary className="button-secondary">Columns ({columns.length})</summary>
      <fieldset>
        <legend className="sr-only">Metric columns</legend>
        {choices.map((c) => (
          <label key={c.name} className="check">
            <input
              type="checkbox"
              checked={columns.includes(c.name)}
              data-column={c.name}
              onChange={(e) => onChange(e.target.checked ? [...columns, c.name] : columns.filter((n) => n !== c.name))}
            />{' '}
            {c.label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}
