import { z } from 'zod';
import { firstInvalidUtf8Offset } from './utf8';

export type DatasetFormat = 'text' | 'jsonl';

export type DatasetErrorCode = 'empty' | 'binary' | 'invalid-utf8' | 'too-large' | 'malformed-json' | 'invalid-record' | 'duplicate-id';

/** A user dataset was rejected; `message` says why, `line` is set for JSONL record errors. */
export class DatasetError extends Error {
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'DatasetError';
  }
}

/** A document of a user dataset, splittable like the bundled corpora. */
export interface UserDocument {
  readonly id: string;
  readonly corpus: 'user';
  readonly title: string;
  readonly text: string;
}

export interface UserDatasetOptions {
  /** `text`: the whole input is one document; `jsonl`: one JSON object with a `text` string per line. */
  readonly format: DatasetFormat;
  /** Dataset name, used as the prefix of document ids. */
  readonly name: string;
  /** Largest accepted input in bytes (default {@link DEFAULT_MAX_DATASET_BYTES}). */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_DATASET_BYTES = 64 * 1024 * 1024;

const recordSchema = z.object(
  {
    text: z
      .string({ error: (issue) => (issue.input === undefined ? 'missing "text" field' : `"text" must be a string, got ${describe(issue.input)}`) })
      .min(1, { error: '"text" is empty' }),
    id: z.string({ error: (issue) => `"id" must be a string, got ${describe(issue.input)}` }).min(1, { error: '"id" is empty' }).optional(),
  },
  { error: (issue) => `each line must be a JSON object, got ${describe(issue.input)}` },
);

/** `jsonl` for .jsonl/.ndjson file names, `text` otherwise. */
export function formatFromFileName(fileName: string): DatasetFormat {
  return /\.(jsonl|ndjson)$/i.test(fileName) ? 'jsonl' : 'text';
}

/** Parses and validates a user dataset, throwing a {@link DatasetError} that names the problem. */
export function parseUserDataset(input: Uint8Array | string, options: UserDatasetOptions): UserDocument[] {
  const text = decodeInput(input, options.maxBytes ?? DEFAULT_MAX_DATASET_BYTES);
  if (text.trim().length === 0) throw new DatasetError('empty', 'the dataset is empty');
  if (options.format === 'text') {
    return [{ id: `${options.name}/text`, corpus: 'user', title: options.name, text }];
  }
  return parseJsonLines(text, options.name);
}

function decodeInput(input: Uint8Array | string, maxBytes: number): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) throw new DatasetError('too-large', `the dataset is ${size} bytes, more than the limit of ${maxBytes} bytes`);
  if (size === 0) throw new DatasetError('empty', 'the dataset is empty');
  let text: string;
  if (typeof input === 'string') {
    const surrogate = input.search(/\p{Surrogate}/u);
    if (surrogate >= 0) throw new DatasetError('invalid-utf8', `the text has an unpaired surrogate at character ${surrogate}, so it is not valid Unicode`);
    text = input;
  } else {
    const nul = input.indexOf(0);
    if (nul >= 0) throw new DatasetError('binary', `the dataset looks binary: it has a NUL byte at offset ${nul}`);
    const invalid = firstInvalidUtf8Offset(input);
    if (invalid >= 0) throw new DatasetError('invalid-utf8', `the dataset is not valid UTF-8 (first bad byte at offset ${invalid}); binary files are not accepted`);
    text = new TextDecoder('utf-8').decode(input); // drops a leading byte-order mark
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) throw new DatasetError('binary', `the dataset looks binary: it has a NUL character at offset ${nul}`);
  return text;
}

function parseJsonLines(text: string, name: string): UserDocument[] {
  const documents: UserDocument[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (content.trim().length === 0) return; // blank lines, e.g. a trailing newline
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (error) {
      throw new DatasetError('malformed-json', `malformed JSON (${(error as Error).message})`, line);
    }
    const parsed = recordSchema.safeParse(value);
    if (!parsed.success) {
      throw new DatasetError('invalid-record', parsed.error.issues.map((issue) => issue.message).join('; '), line);
    }
    const id = parsed.data.id ?? `${name}/line-${line}`;
    if (seen.has(id)) throw new DatasetError('duplicate-id', `document id ${JSON.stringify(id)} was already used`, line);
    seen.add(id);
    documents.push({ id, corpus: 'user', title: `${name} line ${line}`, text: parsed.data.text });
  });
  if (documents.length === 0) throw new DatasetError('empty', 'the dataset has no records');
  return documents;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value;
}
