'use client';
/**
 * The runs of a project as a virtualized list: only the rows in view are in the DOM, so
 * 10,000 loaded runs scroll smoothly. A grid of rows on wide screens, cards on a phone
 * (the same elements restyled). Metric columns sort on click; each row can be selected
 * for comparison; reaching the end loads the next page.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import Link from 'next/link';
import { memo, useEffect, useRef } from 'react';
import { formatDate } from '../client/format';
import { formatCell, headerUnit } from '../client/metric-format';
import type { RunRow } from '../client/queries';
import { runLevelValues } from '../client/run-summary';
import { columnTitle, type SortKey, type SortState, type StepSummary } from '../client/runs-view';
import { CancelRunButton } from './CancelRunButton';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';

const ACTIVE = new Set(['queued', 'running']);

export interface RunsTableProps {
  runs: RunRow[];
  columns: string[];
  sort: SortState;
  onSort(key: SortKey): void;
  selected: ReadonlySet<string>;
  onToggle(id: string): void;
  stepsOf(run: RunRow): StepSummary[];
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore(): void;
  onChanged(): void;
}

function SortButton({ label, sortKey, sort, onSort }: { label: string; sortKey: SortKey; sort: SortState; onSort(k: SortKey): void }) {
  const active = sort.key === sortKey;
  return (
    <button
      type="button"
      className="sort-button"
      onClick={() => onSort(sortKey)}
      aria-sort={active ? (sort.descending ? 'descending' : 'ascending') : undefined}
      data-sort-key={sortKey}
    >
      {label}
      <span aria-hidden="true">{active ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
    </button>
  );
}

export function RunsTable(props: RunsTableProps) {
  const { runs, columns, sort, onSort, selected, onToggle, stepsOf, hasMore, loadingMore, onLoadMore, onChanged } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: runs.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 52,
    overscan: 12,
    getItemKey: (i) => runs[i]!.id,
  });
  const items = virtualizer.getVirtualItems();
  const last = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (hasMore && !loadingMore && last >= runs.length - 20) onLoadMore();
  }, [last, runs.length, hasMore, loadingMore, onLoadMore]);

  const template = `2rem 7rem minmax(13rem, 2.4fr) minmax(6rem, 1fr) repeat(${columns.length}, minmax(7rem, 1fr)) 9.5rem`;
  return (
    <div className="runs-grid" role="table" aria-label="Runs" aria-rowcount={runs.length + 1} data-testid="runs-table" style={{ ['--runs-columns' as string]: template }}>
      <div className="runs-scroll" ref={scroller} data-testid="runs-scroll">
        <div className="runs-row runs-head" role="row">
          <span role="columnheader" className="sr-only-mobile">
            <span className="sr-only">Select</span>
          </span>
          <span role="columnheader">Status</span>
          <span role="columnheader">Recipe and parameters</span>
          <span role="columnheader">Base model</span>
          {columns.map((c) => (
            <span role="columnheader" key={c} className="num">
              <SortButton label={headerUnit(c) ? `${columnTitle(c)} (${headerUnit(c)})` : columnTitle(c)} sortKey={`metric:${c}`} sort={sort} onSort={onSort} />
            </span>
          ))}
          <span role="columnheader">
            <SortButton label="Created" sortKey="createdAt" sort={sort} onSort={onSort} />
          </span>
        </div>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const run = runs[item.index]!;
            return (
              <RunRowView
                key={item.key}
                run={run}
                index={item.index}
                start={item.start}
                measure={virtualizer.measureElement}
                columns={columns}
                selected={selected.has(run.id)}
                onToggle={onToggle}
                stepsOf={stepsOf}
                onChanged={onChanged}
              />
            );
          })}
        </div>
      </div>
      <div className="runs-foot">
        <span className="muted" data-testid="runs-count">
          {runs.length.toLocaleString('en-US')} runs loaded{hasMore ? ', more on the server' : ''}
        </span>
        {hasMore ? (
          <button type="button" className="button-secondary" onClick={onLoadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        ) : null}
      </div>
    </div>
  );
}

interface RunRowProps {
  run: RunRow;
  index: number;
  start: number;
  measure(el: Element | null): void;
  columns: string[];
  selected: boolean;
  onToggle(id: string): void;
  stepsOf(run: RunRow): StepSummary[];
  onChanged(): void;
}

/** One run; memoized, so scrolling renders only the rows that come into view. */
const RunRowView = memo(function RunRowView({ run, index, start, measure, columns, selected, onToggle, stepsOf, onChanged }: RunRowProps) {
  const values = runLevelValues(run.metrics);
  const steps = stepsOf(run);
  return (
    <div
      ref={measure}
      data-index={index}
      className="runs-row"
      role="row"
      aria-rowindex={index + 2}
      data-testid="run-row"
      data-run-id={run.id}
      style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${start}px)` }}
    >
      <span role="cell" className="cell-select">
        <input type="checkbox" checked={selected} onChange={() => onToggle(run.id)} aria-label={`Select run ${run.id.slice(0, 8)} to compare`} data-testid="select-run" />
      </span>
      <span role="cell" className="cell-status">
        <StatusBadge status={run.status} />
        {ACTIVE.has(run.status) ? (
          <span className="inline-form">
            <ProgressBar fraction={run.progress} message={null} />
            <CancelRunButton runId={run.id} status={run.status} onCanceled={async () => onChanged()} />
          </span>
        ) : null}
      </span>
      <span role="cell" className="cell-recipe wrap">
        <Link href={`/runs/${run.id}`} className="mono" prefetch={false}>
          {steps.map((s) => s.technique).join(' → ') || '—'}
        </Link>
        {steps.some((s) => s.changed) ? (
          <span className="run-params mono" data-testid="run-params">
            {steps
              .map((s) => s.changed)
              .filter(Boolean)
              .join(' · ')}
          </span>
        ) : (
          <span className="run-params muted">default parameters</span>
        )}
        {run.error ? <span className="run-error">{run.error}</span> : null}
      </span>
      <span role="cell" className="cell-base wrap">
        {run.baseModel.name}
      </span>
      {columns.map((c) => {
        const v = values.get(c);
        return (
          <span role="cell" key={c} className="num cell-metric" data-metric={c}>
            <span className="cell-label">{headerUnit(c) ? `${columnTitle(c)} (${headerUnit(c)})` : columnTitle(c)}</span>
            {v === undefined ? '—' : formatCell(c, v)}
          </span>
        );
      })}
      <span role="cell" className="cell-created muted">
        {formatDate(run.createdAt)}
      </span>
    </div>
  );
});
