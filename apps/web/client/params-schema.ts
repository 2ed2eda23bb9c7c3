/**
 * Reads a technique's parameter JSON Schema (zod's input side, as the API's `techniques`
 * query answers it) into what the new-run form needs: the defaults to prefill and a
 * compact list of the parameters. Pure; tolerant of schema shapes it does not know.
 */

/** A JSON Schema node, loosely: only the keywords read here are named. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export interface ParamRow {
  /** Dotted for nested objects: `loss.alpha`. */
  name: string;
  type: string;
  /** JSON of the default, or null when the parameter has none. */
  defaultValue: string | null;
  /** Bounds such as `≥ 0` or `2 … 4`; empty when unbounded. */
  range: string;
  description: string | null;
}

/** zod writes the safe-integer limits on every `.int()`: they say nothing to a reader. */
const SAFE = Number.MAX_SAFE_INTEGER;

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function properties(schema: unknown): [string, JsonSchema][] {
  if (!isSchema(schema) || !isSchema(schema.properties)) return [];
  return Object.entries(schema.properties).filter((e): e is [string, JsonSchema] => isSchema(e[1]));
}

/**
 * Each property's `default`, leaving out properties without one. An object default is
 * completed with its own properties' defaults, so `loss: {}` shows `alpha`, `temperature`…
 * (the API fills those in from `{}` anyway, so the run is the same either way).
 */
export function defaultParams(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, prop] of properties(schema)) {
    if (!('default' in prop)) continue;
    const value: unknown = structuredClone(prop.default);
    out[name] = isPlainObject(value) ? { ...defaultParams(prop), ...value } : value;
  }
  return out;
}

/** A short type label: `integer`, `string[]`, `"forward" | "reverse"`, `number | null`. */
export function typeLabel(schema: JsonSchema): string {
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) return union.filter(isSchema).map(typeLabel).join(' | ');
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (schema.type === 'array') return isSchema(schema.items) ? `${typeLabel(schema.items)}[]` : 'array';
  return schema.type ?? 'any';
}

/** Lower and upper bounds, as a reader writes them. */
export function rangeLabel(schema: JsonSchema): string {
  const lo =
    typeof schema.exclusiveMinimum === 'number' && schema.exclusiveMinimum > -SAFE
      ? { v: schema.exclusiveMinimum, open: true }
      : typeof schema.minimum === 'number' && schema.minimum > -SAFE
        ? { v: schema.minimum, open: false }
        : null;
  const hi =
    typeof schema.exclusiveMaximum === 'number' && schema.exclusiveMaximum < SAFE
      ? { v: schema.exclusiveMaximum, open: true }
      : typeof schema.maximum === 'number' && schema.maximum < SAFE
        ? { v: schema.maximum, open: false }
        : null;
  if (lo && hi) return `${lo.open ? '>' : '≥'} ${lo.v}, ${hi.open ? '<' : '≤'} ${hi.v}`;
  if (lo) return `${lo.open ? '>' : '≥'} ${lo.v}`;
  if (hi) return `${hi.open ? '<' : '≤'} ${hi.v}`;
  return '';
}

/** One row per parameter, nested object properties flattened to dotted names after their parent. */
export function describeParams(schema: unknown, prefix = ''): ParamRow[] {
  const rows: ParamRow[] = [];
  for (const [name, prop] of properties(schema)) {
    const full = prefix ? `${prefix}.${name}` : name;
    const nested = properties(prop).length > 0;
    rows.push({
      name: full,
      type: nested ? 'object' : typeLabel(prop),
      // An empty object default is spelled out by the nested rows' own defaults.
      defaultValue: 'default' in prop && !(nested && isPlainObject(prop.default) && Object.keys(prop.default).length === 0) ? JSON.stringify(prop.default) : null,
      range: rangeLabel(prop),
      description: typeof prop.description === 'string' && prop.description ? prop.description : null,
    });
    if (nested) rows.push(...describeParams(prop, full));
  }
  return rows;
}
