/**
 * GraphQL over HTTP (spec, "application/json" legacy watershed): a client that does not
 * accept application/graphql-response+json gets status 200 for requests that failed
 * parsing, validation or variable coercion, errors in the body, as pre-spec servers
 * answered. Clients accepting the new media type keep Apollo's 400.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

const NEW_MEDIA_TYPE = 'application/graphql-response+json';
/** Document and variable errors; malformed requests (BAD_REQUEST) keep their 400. */
const DOCUMENT_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

export function legacyJsonStatusPlugin<C extends BaseContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          const accept = request.http?.headers.get('accept') ?? '';
          if (accept.includes(NEW_MEDIA_TYPE)) return;
          const body = response.body;
          if (response.http.status !== 400 || body.kind !== 'single' || body.singleResult.data !== undefined) return;
          const errors = body.singleResult.errors ?? [];
          if (errors.length && errors.every((e) => DOCUMENT_ERROR_CODES.has(String(e.extensions?.code)))) {
            response.http.status = 200;
          }
        },
      };
    },
  };
}
