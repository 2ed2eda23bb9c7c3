import { z } from 'zod';

/** A tokenizer.json that is malformed or uses something we do not implement; the message names the component path. */
export class TokenizerJsonError extends Error {
  constructor(message: string) {
    super(`tokenizer.json: ${message}`);
    this.name = 'TokenizerJsonError';
  }
}

/** Validates one component's settings; the error names the component's path and the offending field. */
export function readComponent<T extends z.ZodType>(schema: T, value: unknown, path: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = [path, ...issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))].join('').replace(/\.\[/g, '[').replace(/^\./, '');
  throw new TokenizerJsonError(`${where}: ${issue.message}`);
}

/** The `type` of a component object, or an error naming its path. */
export function componentType(value: unknown, path: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenizerJsonError(`${path} must be an object with a "type"`);
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') throw new TokenizerJsonError(`${path}.type is missing`);
  return type;
}

export function unsupported(path: string, type: string): TokenizerJsonError {
  return new TokenizerJsonError(`${path}.type ${JSON.stringify(type)} is not supported`);
}

/** Hugging Face's `{"String": ...}` or `{"Regex": ...}` pattern object. */
export const patternSchema = z.union([z.object({ String: z.string() }).strict(), z.object({ Regex: z.string() }).strict()], {
  error: 'must be {"String": "..."} or {"Regex": "..."}',
});
export type PatternConfig = z.output<typeof patternSchema>;

/**
 * A `{token: id}` vocabulary as a Map. Checked by hand: zod takes seconds on the
 * 100k-250k entries of real vocabularies.
 */
export function readVocab(value: unknown, path: string): Map<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenizerJsonError(`${path} must be an object of token -> id`);
  const vocab = new Map<string, number>();
  const record = value as Record<string, unknown>;
  for (const token in record) {
    const id = record[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new TokenizerJsonError(`${path}[${JSON.stringify(token)}] must be a non-negative integer id, got ${JSON.stringify(id)}`);
    vocab.set(token, id);
  }
  return vocab;
}
