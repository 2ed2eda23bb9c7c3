/**
 * Checks parameters against a technique's JSON Schema (the keywords zod emits: type,
 * enum/const, bounds, length, pattern, items, required, additionalProperties) so the form
 * can say what is wrong beside the field before anything is sent. The API validates
 * again; this is for quick, specific messages. Pure.
 */
import type { JsonSchema } from './params-schema';

export interface ParamIssue {
  /** Dotted path under the parameters: `loss.alpha`, `blocks[2]`. */
  path: string;
  message: string;
}

interface FullSchema extends JsonSchema {
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SAFE = Number.MAX_SAFE_INTEGER;

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isRecord(v);
    case 'null':
      return v === null;
    default:
      return true;
  }
}

const TYPE_WORDS: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'text', boolean: 'true or false', array: 'a list', object: 'an object', null: 'null' };

export function validateParams(schema: unknown, value: unknown, path = ''): ParamIssue[] {
  if (!isRecord(schema)) return [];
  const s = schema as FullSchema;
  const at = (message: string): ParamIssue[] => [{ path, message }];
  const union = s.anyOf ?? s.oneOf;
  if (Array.isArray(union)) {
    const ok = union.some((alt) => validateParams(alt, value, path).length === 0);
    return ok ? [] : at(`must be one of ${union.map((a) => ('const' in a ? JSON.stringify(a.const) : (a.type ?? '?'))).join(', ')}`);
  }
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value)) return at(`must be ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) return at(`must be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  if (types.length > 0 && !types.some((t) => typeOk(t, value))) return at(`must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`);
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && s.minimum > -SAFE && value < s.minimum) return at(`must be at least ${s.minimum}`);
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) return at(`must be greater than ${s.exclusiveMinimum}`);
    if (typeof s.maximum === 'number' && s.maximum < SAFE && value > s.maximum) return at(`must be at most ${s.maximum}`);
    if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum) return at(`must be less than ${s.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) return at(s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) return at(`must be at most ${s.maxLength} characters`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) return at(`must match ${s.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) return at(`needs at least ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) return at(`takes at most ${s.maxItems} items`);
    if (isRecord(s.items)) return value.flatMap((v, i) => validateParams(s.items, v, `${path}[${i}]`));
  }
  if (isRecord(value)) {
    const issues: ParamIssue[] = [];
    const props = isRecord(s.properties) ? s.properties : {};
    const join = (k: string) => (path ? `${path}.${k}` : k);
    for (const req of s.required ?? []) if (!(req in value)) issues.push({ path: join(req), message: 'is required' });
    for (const [k, v] of Object.entries(value)) {
      if (k in props) issues.push(...validateParams(props[k], v, join(k)));
      else if (s.additionalProperties === false) issues.push({ path: join(k), message: 'is not a parameter of this technique' });
    }
    return issues;
  }
  return [];
}
