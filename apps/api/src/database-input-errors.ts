/**
 * Database errors that the client's input caused (a duplicate, a value too long, bytes
 * Postgres cannot store), told apart from real failures so they can be answered as
 * BAD_USER_INPUT naming the field instead of as an internal error.
 */
import { Prisma } from '@distillery/db';

export interface InputProblem {
  /** The column/argument at fault, or undefined when the database does not say. */
  field?: string;
  message: string;
}

interface AdapterCause {
  originalCode?: string;
  constraint?: { index?: string; fields?: string[] };
  column?: string;
}

function causeOf(e: Prisma.PrismaClientKnownRequestError): AdapterCause {
  const meta = (e.meta ?? {}) as { driverAdapterError?: { cause?: AdapterCause } };
  return meta.driverAdapterError?.cause ?? {};
}

/** `Team_slug_key` -> `slug`; `Project_teamId_name_key` -> `teamId, name`. */
function fieldsFromIndex(index: string, model: string | undefined): string | undefined {
  let s = index;
  if (model && s.startsWith(`${model}_`)) s = s.slice(model.length + 1);
  s = s.replace(/_(key|fkey|pkey|idx)$/, '');
  return s ? s.split('_').join(', ') : undefined;
}

export function databaseInputProblem(e: unknown): InputProblem | null {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const cause = causeOf(e);
  const model = (e.meta as { modelName?: string } | undefined)?.modelName;
  const target = (e.meta as { target?: string[] | string } | undefined)?.target;
  switch (e.code) {
    case 'P2002': {
      const field = Array.isArray(target) ? target.join(', ') : cause.constraint?.fields?.join(', ') ?? (cause.constraint?.index ? fieldsFromIndex(cause.constraint.index, model) : undefined);
      return { field, message: 'this value is already taken' };
    }
    case 'P2000':
      return { field: cause.column, message: 'the value is too long' };
    case 'P2003':
      return { field: cause.constraint?.index ? fieldsFromIndex(cause.constraint.index, model) : undefined, message: 'refers to something that does not exist' };
  }
  // Postgres class 22 (data exception): invalid byte sequences (U+0000), values out of range.
  const sqlState = cause.originalCode ?? '';
  if (sqlState === '22021' || sqlState === '22P05') return { message: 'contains characters the database cannot store (such as U+0000)' };
  if (sqlState === '22001') return { message: 'the value is too long' };
  if (sqlState === '22003') return { message: 'a number is out of range' };
  return null;
}
