/** What people type into the generated parameter form, read as parameter values. Pure. */
import type { JsonSchema } from './params-schema';

/** The allowed values of an enumeration (`enum`, or a union of `const`s as zod writes literal unions); null otherwise. */
export function choicesOf(s: JsonSchema): unknown[] | null {
  if (Array.isArray(s.enum)) return s.enum;
  const union = s.anyOf ?? s.oneOf;
  if (Array.isArray(union) && union.length > 0 && union.every((a) => 'const' in a)) return union.map((a) => a.const);
  return null;
}

/** Text typed into a number box: a number when it reads as one, else the text (so validation can say why). */
export function parseNumberInput(raw: string): number | string | undefined {
  const t = raw.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** "1, 2, 3" as a list, items read as numbers when the schema's items are numeric. */
export function parseListInput(raw: string, items: JsonSchema | undefined): unknown[] | undefined {
  if (raw.trim() === '') return [];
  const numeric = items && (items.type === 'integer' || items.type === 'number' || choicesOf(items)?.every((c) => typeof c === 'number'));
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (numeric ? parseNumberInput(s) : s));
}
