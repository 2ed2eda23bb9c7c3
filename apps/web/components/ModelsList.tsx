'use client';
/** A project's models, a page at a time, with each import's status, failure reason and import report. */
import { useState } from 'react';
import { formatBytes } from '../client/format';
import { formatCount } from '../client/metric-format';
import type { ImportReport } from '@distillery/formats/import-report';
import type { ModelSummary } from '../client/queries';

/** What the worker found in an imported file, in one line, with its warnings folded below. */
function ImportReportLine({ report }: { report: ImportReport }) {
  const dtypes = Object.entries(report.dtypes)
    .map(([type, count]) => `${type} ×${count}`)
    .join(', ');
  return (
    <span className="hint wrap" style={{ display: 'block' }} data-testid="import-report" data-format={report.format}>
      Imported from {report.format} · {report.architecture} · {formatCount(report.parameters)} params · {dtypes} · tokenizer: {report.tokenizerKind ?? 'none'}
      {report.warnings.length > 0 ? (
        <details>
          <summary>
            {report.warnings.length} warning{report.warnings.length === 1 ? '' : 's'}
          </summary>
          <ul data-testid="import-warnings">
            {report.warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </span>
  );
}

export const MODELS_PAGE_SIZE = 10;

export function ModelsList({ models }: { models: ModelSummary[] }) {
  const [page, setPage] = useState(0);
  if (models.length === 0) return <p className="empty">No models yet. Upload a model file to start.</p>;
  const pages = Math.ceil(models.length / MODELS_PAGE_SIZE);
  const current = Math.min(page, pages - 1);
  const shown = models.slice(current * MODELS_PAGE_SIZE, (current + 1) * MODELS_PAGE_SIZE);
  return (
    <>
      <ul className="model-list" data-testid="models-list">
        {shown.map((m) => (
          <li key={m.id} id={`model-${m.id}`} data-testid="model-row">
            <span className="wrap">
              <strong>{m.name}</strong>
              {m.producedByRun ? <span className="muted"> · produced by a run</span> : null}
              {m.status === 'ready' && m.importReport ? <ImportReportLine report={m.importReport} /> : null}
              {m.error ? (
                <span className="error" data-testid="model-error">
                  {m.error}
                </span>
              ) : null}
            </span>
            <span className="model-facts">
              <span className={`badge badge-${m.status}`} data-testid="model-status" data-status={m.status}>
                {m.status}
              </span>
              <span className="muted">{m.status === 'ready' ? `${formatCount(m.parameterCount)} params` : ''}</span>
              <span className="muted">{formatBytes(m.bytes)}</span>
            </span>
          </li>
        ))}
      </ul>
      {pages > 1 ? (
        <nav className="pager" aria-label="Models pages">
          <button type="button" className="button-secondary" disabled={current === 0} onClick={() => setPage(current - 1)}>
            Previous
          </button>
          <span className="muted">
            page {current + 1} of {pages}
          </span>
          <button type="button" className="button-secondary" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
            Next
          </button>
        </nav>
      ) : null}
    </>
  );
}
