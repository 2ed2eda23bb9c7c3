/** One GraphQL operation against the configured API with the stored token. */
import { graphql } from '@distillery/services';
import type { Connection } from './credentials';

export type Call = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export function apiCall(c: Connection): Call {
  return <T>(query: string, variables: Record<string, unknown> = {}) =>
    graphql<T>(c.graphqlUrl, query, variables, c.token).catch((error: unknown) => {
      if (error instanceof TypeError) throw new Error(`cannot reach the API at ${c.apiUrl}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
      throw error;
    });
}
