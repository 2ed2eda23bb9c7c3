/**
 * The error vocabulary of the API. Every failure a client can act on is a GraphQLError
 * with a stable `extensions.code`; input errors also name the offending `field` in the
 * path syntax users write (`recipe.steps[0].params.bits`).
 */
import { GraphQLError } from 'graphql';
import type { z } from 'zod';

export function unauthenticated(message = 'sign in first: send "Authorization: Bearer <token>"'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });
}

/** Used both for "not allowed" and "does not exist", so callers cannot probe other teams. */
export function forbidden(message = 'not found or not allowed'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

export function badInput(field: string, message: string): GraphQLError {
  return new GraphQLError(`${field}: ${message}`, { extensions: { code: 'BAD_USER_INPUT', field } });
}

/** Sign-in refused during a lock-out; HTTP 429 with Retry-After as well. */
export function tooManyAttempts(retryAfterSeconds: number): GraphQLError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new GraphQLError(`too many sign-in attempts; try again in ${seconds} s`, {
    extensions: {
      code: 'TOO_MANY_ATTEMPTS',
      retryAfter: seconds,
      http: { status: 429, headers: new Map([['retry-after', String(seconds)]]) },
    },
  });
}

export function conflict(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'CONFLICT' } });
}

/** `steps[0].params.bits`: numbers in brackets, names joined by dots. */
export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** The first zod issue as a GraphQL input error; all issues listed in extensions.issues. */
export function zodInputError(error: z.ZodError, prefix: string): GraphQLError {
  const issues = error.issues.map((i) => ({ field: formatPath(i.path, prefix) || prefix, message: i.message }));
  const first = issues[0] ?? { field: prefix, message: 'invalid input' };
  const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field: first.field, issues } });
}

/** Parse with a zod schema, turning failures into BAD_USER_INPUT naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const res = schema.safeParse(value);
  if (!res.success) throw zodInputError(res.error, prefix);
  return res.data;
}
