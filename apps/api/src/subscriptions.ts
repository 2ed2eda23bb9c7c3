/**
 * GraphQL subscriptions over WebSocket (graphql-ws protocol) on the API's own HTTP server
 * and path. A connection authenticates once, with the same session or API token as HTTP,
 * in its connectionParams (`{ authorization: "Bearer <token>" }` or `{ token }`); a
 * connection without a valid one is closed with 4403. Operations get the same validation
 * limits and error formatting as HTTP.
 */
import type http from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import { specifiedRules, validate, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { createContext, findViewer, type ApiServices } from './context';
import { checkRateLimit } from './rate-limit';
import { bearerToken } from './tokens';

/** Close code for a connection over its rate limit (the 4xxx range is the application's). */
export const RATE_LIMITED_CLOSE = 4429;

/** Subscription documents are small; bigger frames are refused by the socket. */
const MAX_FRAME_BYTES = 64 * 1024;

export interface SubscriptionServer {
  close(): Promise<void>;
}

export interface SubscriptionOptions {
  httpServer: http.Server;
  schema: GraphQLSchema;
  services: ApiServices;
  validationRules: ValidationRule[];
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  log: Logger;
}

/** The bearer header a client put in its connectionParams, in either accepted form. */
export function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  if (typeof params.authorization === 'string') return params.authorization;
  if (typeof params.Authorization === 'string') return params.Authorization;
  if (typeof params.token === 'string') return `Bearer ${params.token}`;
  return undefined;
}

export function startSubscriptionServer(o: SubscriptionOptions): SubscriptionServer {
  const wss = new WebSocketServer({ server: o.httpServer, path: '/graphql', maxPayload: MAX_FRAME_BYTES });
  const rules = [...specifiedRules, ...o.validationRules];
  const cleanup = useServer(
    {
      schema: o.schema,
      async onConnect(ctx) {
        const authorization = authorizationOf(ctx.connectionParams);
        const refusal = await checkRateLimit(o.services.prisma, o.services.config.rateLimits, authorization, ctx.extra.request.socket.remoteAddress);
        if (refusal) {
          ctx.extra.socket.close(RATE_LIMITED_CLOSE, refusal.message);
          return false;
        }
        const secret = bearerToken(authorization);
        if (!secret) return false;
        return (await findViewer(o.services.prisma, secret, o.services.config.sessions)) !== null;
      },
      context: (ctx) =>
        createContext(o.services, authorizationOf(ctx.connectionParams), {
          address: ctx.extra.request.socket.remoteAddress,
          userAgent: ctx.extra.request.headers['user-agent'],
        }),
      validate: (schema, document) => validate(schema, document, rules),
      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors?.length) return;
        return { ...result, errors: result.errors.map((e) => o.formatError(e.toJSON(), e)) };
      },
      onError(_ctx, _id, _payload, errors) {
        return errors.map((e) => o.formatError(e.toJSON(), e));
      },
    },
    wss,
  );
  wss.on('error', (error) => o.log.warn({ err: error }, 'subscription socket server error'));
  return {
    async close() {
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
