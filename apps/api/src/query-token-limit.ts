/**
 * A ceiling on the number of lexical tokens in a GraphQL document, checked before
 * Apollo parses it (parsing cost grows with tokens, so a 5 MB query must be refused
 * without building its AST). graphql-armor's own max-tokens plugin throws from inside
 * Apollo's parse hook, which turns every syntax error into an HTTP 500; this check runs
 * as Express middleware instead and leaves syntax errors to Apollo's normal 400.
 */
import { Lexer, Source, TokenKind } from 'graphql';
import type { NextFunction, Request, Response } from 'express';
import { sendJsonError } from './http-errors';

/** Tokens in `query`, stopping once `limit` is passed; null if it does not lex (Apollo reports that). */
export function countTokens(query: string, limit: number): number | null {
  const lexer = new Lexer(new Source(query));
  let n = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++n > limit) return n;
    }
  } catch {
    return null;
  }
  return n;
}

function queryOf(req: Request): unknown {
  if (req.method === 'GET') return req.query.query;
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null ? (body as { query?: unknown }).query : undefined;
}

export function queryTokenLimit(maxTokens: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const query = queryOf(req);
    if (typeof query === 'string') {
      const n = countTokens(query, maxTokens);
      if (n !== null && n > maxTokens) {
        return sendJsonError(res, 400, 'GRAPHQL_VALIDATION_FAILED', `the query has more than ${maxTokens} tokens`);
      }
    }
    next();
  };
}
