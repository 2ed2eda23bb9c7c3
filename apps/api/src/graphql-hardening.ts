/**
 * Limits Apollo Server does not apply by itself (see ARCHITECTURE.md, "The API"): query
 * depth, aliases, directives, tokens and estimated cost, via graphql-armor; plus error
 * masking, so internals (SQL, paths, stack traces) never reach clients unless
 * GRAPHQL_DEBUG_ERRORS=1 asks for them.
 */
import { randomUUID } from 'node:crypto';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError, ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import type { GraphqlLimits } from './config';
import { databaseInputProblem } from './database-input-errors';

export function armorProtection(limits: GraphqlLimits): { plugins: ApolloServerPlugin[]; validationRules: ValidationRule[] } {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    // Enforced by query-token-limit.ts instead (armor's plugin turns syntax errors into 500s).
    maxTokens: { enabled: false },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
    blockFieldSuggestion: { enabled: true },
  });
  const p = armor.protect();
  return { plugins: p.plugins, validationRules: p.validationRules };
}

/** Codes whose messages are written for clients; anything else is internal. */
const CLIENT_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'TOO_MANY_ATTEMPTS',
  'BAD_USER_INPUT',
  'CONFLICT',
  'NOT_SUPPORTED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Client errors pass through. Database errors the input caused become BAD_USER_INPUT
 * naming the field. Anything else is logged with its stack under a correlation id and
 * answered opaquely with that id, so support can find the log line.
 */
export function errorFormatter(debug: boolean, log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : 'INTERNAL_SERVER_ERROR';
    if (CLIENT_CODES.has(code)) return formatted;
    const original = unwrapResolverError(error);
    const problem = databaseInputProblem(original);
    if (problem) {
      // Without a column name the database cannot say which input; the operation can.
      const field = problem.field ?? String(formatted.path?.[0] ?? 'input');
      return { message: `${field}: ${problem.message}`, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT', field } };
    }
    const correlationId = randomUUID();
    log.error({ err: original, path: formatted.path, code, correlationId }, 'resolver failed');
    if (debug) return { ...formatted, extensions: { ...formatted.extensions, correlationId } };
    return {
      message: `internal server error (correlation id ${correlationId})`,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
}
