/**
 * The runs page's filters as they live in the link (so a filtered list can be shared) and
 * as the API's RunFilter: `?status=succeeded&family=quantize&tags=a,b&param=bits=4
 * &range=perplexity:40:60&sweep=<id>`. Pure; the API does the filtering.
 */
import { describeMetric } from '@distillery/eval/metric-catalogue';
import type { RunStatus } from './queries';

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];
/** The API's limit on metric ranges per query. */
export const MAX_RANGES = 8;

export interface MetricRange {
  name: string;
  min: number | null;
  max: number | null;
}

export interface ParamCondition {
  path: string;
  /** The value as JSON when it parses (4, true, "x"), else the text itself. */
  equals: unknown;
}

export interface RunListFilter {
  status: RunStatus | '';
  family: string;
  tags: string[];
  param: ParamCondition | null;
  ranges: MetricRange[];
  sweepId: string;
}

export const NO_FILTER: RunListFilter = { status: '', family: '', tags: [], param: null, ranges: [], sweepId: '' };

/** "a, b ,a" → ["a", "b"]. */
export function parseTagList(text: string): string[] {
  return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
}

/** "bits=4" or "student.layers = 2" → {path, equals}; throws naming the problem. */
export function parseParamCondition(text: string): ParamCondition {
  const at = text.indexOf('=');
  if (at < 0) throw new Error('Write a parameter as path=value, e.g. bits=4.');
  const path = text.slice(0, at).trim();
  const raw = text.slice(at + 1).trim();
  if (!path || path.split('.').some((k) => !k)) throw new Error('The parameter path is dotted names, e.g. bits or student.layers.');
  if (!raw) throw new Error(`Give the value ${path} must equal.`);
  let equals: unknown = raw;
  try {
    equals = JSON.parse(raw);
  } catch {
    // Plain text stands for a string value.
  }
  return { path, equals };
}

export function formatParamCondition(p: ParamCondition): string {
  return `${p.path}=${typeof p.equals === 'string' ? p.equals : JSON.stringify(p.equals)}`;
}

function bound(text: string, what: string, scale: number): number | null {
  if (text.trim() === '') return null;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`The ${what} must be a number.`);
  return n / scale;
}

/**
 * A range from its form fields; throws naming the problem. `scale`: stored value × scale =
 * what the form shows (the axis scale of the unit: MB for bytes, % for fractions).
 */
export function parseRange(name: string, minText: string, maxText: string, scale = 1): MetricRange {
  if (!describeMetric(name)) throw new Error(`Pick a metric for the range.`);
  const min = bound(minText, 'minimum', scale);
  const max = bound(maxText, 'maximum', scale);
  if (min === null && max === null) throw new Error('Give a minimum, a maximum or both.');
  if (min !== null && max !== null && min > max) throw new Error('The minimum is above the maximum.');
  return { name, min, max };
}

/** "perplexity:40:60", "size.bytes::5000000". */
export function formatRange(r: MetricRange): string {
  return `${r.name}:${r.min ?? ''}:${r.max ?? ''}`;
}

function rangeFromLink(text: string): MetricRange | null {
  const parts = text.split(':');
  if (parts.length !== 3) return null;
  try {
    return parseRange(parts[0]!, parts[1]!, parts[2]!);
  } catch {
    return null;
  }
}

/** The filter a link names; parts that do not parse are left out (the link may be old or edited). */
export function filterFromSearch(search: { get(name: string): string | null; getAll(name: string): string[] }): RunListFilter {
  const status = search.get('status') ?? '';
  let param: ParamCondition | null = null;
  const paramText = search.get('param');
  if (paramText) {
    try {
      param = parseParamCondition(paramText);
    } catch {
      param = null;
    }
  }
  return {
    status: (RUN_STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : '',
    family: search.get('family') ?? '',
    tags: parseTagList(search.get('tags') ?? ''),
    param,
    ranges: search.getAll('range').map(rangeFromLink).filter((r): r is MetricRange => r !== null).slice(0, MAX_RANGES),
    sweepId: search.get('sweep') ?? '',
  };
}

/** The link's query string of a filter (empty parts left out), in a stable order. */
export function filterToSearch(f: RunListFilter): string {
  const q = new URLSearchParams();
  if (f.status) q.set('status', f.status);
  if (f.family) q.set('family', f.family);
  if (f.tags.length) q.set('tags', f.tags.join(','));
  if (f.param) q.set('param', formatParamCondition(f.param));
  for (const r of f.ranges) q.append('range', formatRange(r));
  if (f.sweepId) q.set('sweep', f.sweepId);
  return q.toString();
}

export function isFiltered(f: RunListFilter): boolean {
  return filterToSearch(f) !== '';
}

/** The API's RunFilter input, as this page sends it. */
export interface ApiRunFilter {
  status?: RunStatus;
  family?: string;
  tags?: string[];
  param?: { path: string; equals: unknown };
  metrics?: { name: string; min: number | null; max: number | null }[];
  sweepId?: string;
}

/** The API's RunFilter, or null for none. */
export function apiRunFilter(f: RunListFilter): ApiRunFilter | null {
  const out: ApiRunFilter = {};
  if (f.status) out.status = f.status;
  if (f.family) out.family = f.family;
  if (f.tags.length) out.tags = f.tags;
  if (f.param) out.param = { path: f.param.path, equals: f.param.equals };
  if (f.ranges.length) out.metrics = f.ranges.map((r) => ({ name: r.name, min: r.min, max: r.max }));
  if (f.sweepId) out.sweepId = f.sweepId;
  return Object.keys(out).length ? out : null;
}
