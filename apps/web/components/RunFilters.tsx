'use client';
/**
 * The runs page's filters: status, technique family and sweep apply when picked; tags, a
 * step parameter and metric ranges when the form is applied. Every active filter shows as
 * a chip that removes it. The page keeps the filter in its link; the API does the filtering.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { axisScale, formatInUnit, headerUnit, metricMeta } from '../client/metric-format';
import {
  formatParamCondition,
  isFiltered,
  MAX_RANGES,
  NO_FILTER,
  parseParamCondition,
  parseRange,
  parseTagList,
  RUN_STATUSES,
  type MetricRange,
  type RunListFilter,
} from '../client/run-filters';
import type { MetricColumn } from '../client/runs-view';
import type { RunStatus } from '../client/queries';

export interface RunFiltersProps {
  filter: RunListFilter;
  onChange(next: RunListFilter): void;
  families: string[];
  sweeps: { id: string; name: string }[];
  metrics: MetricColumn[];
}

function rangeText(r: MetricRange): string {
  const m = metricMeta(r.name);
  const v = (x: number) => formatInUnit(x, m.unit, m.label);
  if (r.min !== null && r.max !== null) return `${m.label} ${v(r.min)} to ${v(r.max)}`;
  return r.min !== null ? `${m.label} ≥ ${v(r.min)}` : `${m.label} ≤ ${v(r.max!)}`;
}

export function RunFilters({ filter, onChange, families, sweeps, metrics }: RunFiltersProps) {
  const [tags, setTags] = useState(filter.tags.join(', '));
  const [param, setParam] = useState(filter.param ? formatParamCondition(filter.param) : '');
  const [range, setRange] = useState({ name: '', min: '', max: '' });
  const [error, setError] = useState<string | null>(null);
  // A link followed or a chip removed: the text fields show the filter in force.
  useEffect(() => setTags(filter.tags.join(', ')), [filter.tags]);
  useEffect(() => setParam(filter.param ? formatParamCondition(filter.param) : ''), [filter.param]);

  const unit = range.name ? headerUnit(range.name) : '';
  function apply(e: FormEvent) {
    e.preventDefault();
    try {
      const next: RunListFilter = { ...filter, tags: parseTagList(tags), param: param.trim() ? parseParamCondition(param) : null };
      if (range.name) {
        if (filter.ranges.length >= MAX_RANGES) throw new Error(`At most ${MAX_RANGES} ranges.`);
        const r = parseRange(range.name, range.min, range.max, axisScale(metricMeta(range.name).unit));
        next.ranges = [...filter.ranges.filter((x) => x.name !== r.name), r];
      }
      setError(null);
      setRange({ name: '', min: '', max: '' });
      onChange(next);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  const chips: { key: string; text: string; remove: RunListFilter }[] = [
    ...filter.tags.map((t) => ({ key: `tag:${t}`, text: `tag ${t}`, remove: { ...filter, tags: filter.tags.filter((x) => x !== t) } })),
    ...(filter.param ? [{ key: 'param', text: `parameter ${formatParamCondition(filter.param)}`, remove: { ...filter, param: null } }] : []),
    ...filter.ranges.map((r) => ({ key: `range:${r.name}`, text: rangeText(r), remove: { ...filter, ranges: filter.ranges.filter((x) => x !== r) } })),
  ];
  return (
    <div className="run-filters" data-testid="run-filters">
      <div className="toolbar">
        <label>
          Status{' '}
          <select value={filter.status} onChange={(e) => onChange({ ...filter, status: e.target.value as RunStatus | '' })} data-testid="filter-status">
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Technique{' '}
          <select value={filter.family} onChange={(e) => onChange({ ...filter, family: e.target.value })} data-testid="filter-family">
            <option value="">any</option>
            {[...new Set([...families, ...(filter.family ? [filter.family] : [])])].map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        {sweeps.length > 0 || filter.sweepId ? (
          <label>
            Sweep{' '}
            <select value={filter.sweepId} onChange={(e) => onChange({ ...filter, sweepId: e.target.value })} data-testid="filter-sweep">
              <option value="">any</option>
              {sweeps.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
              {filter.sweepId && !sweeps.some((s) => s.id === filter.sweepId) ? <option value={filter.sweepId}>the linked sweep</option> : null}
            </select>
          </label>
        ) : null}
      </div>
      <form className="toolbar filter-form" onSubmit={apply} aria-label="More run filters">
        <label>
          Tags{' '}
          <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="best, ship" size={12} data-testid="filter-tags" />
        </label>
        <label>
          Parameter{' '}
          <input value={param} onChange={(e) => setParam(e.target.value)} placeholder="bits=4" size={10} className="mono" data-testid="filter-param" />
        </label>
        <span className="inline-form">
          <label>
            Range{' '}
            <select value={range.name} onChange={(e) => setRange({ ...range, name: e.target.value })} data-testid="filter-range-metric">
              <option value="">metric…</option>
              {metrics.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.label}
                </option>
              ))}
            </select>
          </label>
          <input
            aria-label={`Range minimum${unit ? ` (${unit})` : ''}`}
            inputMode="decimal"
            placeholder={unit ? `min ${unit}` : 'min'}
            size={7}
            value={range.min}
            onChange={(e) => setRange({ ...range, min: e.target.value })}
            data-testid="filter-range-min"
          />
          <input
            aria-label={`Range maximum${unit ? ` (${unit})` : ''}`}
            inputMode="decimal"
            placeholder={unit ? `max ${unit}` : 'max'}
            size={7}
            value={range.max}
            onChange={(e) => setRange({ ...range, max: e.target.value })}
            data-testid="filter-range-max"
          />
        </span>
        <button type="submit" className="button-secondary" data-testid="filter-apply">
          Apply
        </button>
        {isFiltered(filter) ? (
          <button type="button" className="button-link" onClick={() => onChange(NO_FILTER)} data-testid="filter-clear">
            Clear filters
          </button>
        ) : null}
      </form>
      {error ? (
        <div className="field-error" role="alert" data-testid="filter-error">
          {error}
        </div>
      ) : null}
      {chips.length > 0 ? (
        <ul className="filter-chips" aria-label="Active filters">
          {chips.map((c) => (
            <li key={c.key} className="filter-chip" data-testid="filter-chip">
              {c.text}{' '}
              <button type="button" className="button-link" aria-label={`Remove the filter ${c.text}`} onClick={() => onChange(c.remove)}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
