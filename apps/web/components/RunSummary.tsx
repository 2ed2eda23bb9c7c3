/** Base model against output on the headline figures, with the change and whether it is for the better. */
import { formatDelta, formatInUnit } from '../client/metric-format';
import type { SummaryRow } from '../client/run-summary';

const VERDICT_TEXT = { better: 'better', worse: 'worse', same: 'unchanged', neutral: '' } as const;

export function RunSummary({ rows }: { rows: SummaryRow[] }) {
  return (
    <table className="summary" data-testid="run-summary">
      <thead>
        <tr>
          <th>Figure</th>
          <th className="num">Base model</th>
          <th className="num">Output</th>
          <th className="num">Change</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} data-key={r.key} data-verdict={r.verdict}>
            <th scope="row" className="wrap">
              {r.label}
            </th>
            <td className="num" data-cell="base" data-label="Base model">
              {r.base === null ? '—' : formatInUnit(r.base, r.unit, r.label)}
            </td>
            <td className="num" data-cell="output" data-label="Output">
              {r.output === null ? '—' : formatInUnit(r.output, r.unit, r.label)}
            </td>
            <td className={`num verdict-${r.verdict}`} data-cell="change" data-label="Change">
              {r.delta === null ? '—' : formatDelta(r.delta, r.unit, r.label)}
              {r.ratio !== null && r.unit !== 'fraction' ? <span className="muted"> ({r.ratio.toFixed(3)}×)</span> : null}
              {VERDICT_TEXT[r.verdict] ? <span className="sr-only"> {VERDICT_TEXT[r.verdict]}</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
