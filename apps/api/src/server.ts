/**
 * The API process: Apollo Server 5 on Express 5 with `/graphql`, `/upload` and
 * `/health`. Everything it needs (database client, artifact store, config, logger) is
 * passed in, so tests start it on an ephemeral port against their own database.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { startRunEventHub, type PrismaClient } from '@distillery/db';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { ArtifactStore } from '@distillery/artifacts';
import express from 'express';
import { runMigrations } from 'graphile-worker';
import type { Logger } from 'pino';
import { loadConfig, type ApiConfig } from './config';
import { createContext, type ApiContext, type ApiServices } from './context';
import { armorProtection, errorFormatter } from './graphql-hardening';
import { resolvers, typeDefs } from './graphql/schema';
import { healthHandler } from './health';
import { jsonErrorHandler, notFoundHandler } from './http-errors';
import { legacyJsonStatusPlugin } from './legacy-json-status';
import { modelFileHandler } from './model-download';
import { createLogger, workerLogger } from './logger';
import { inputSanityPlugin } from './input-sanity';
import { queryTokenLimit } from './query-token-limit';
import { rateLimiter, startRateLimitPruning } from './rate-limit';
import { securityHeaders } from './security-headers';
import { startSubscriptionServer } from './subscriptions';
import { uploadHandler } from './upload';

export interface CreateApiOptions {
  prisma: PrismaClient;
  store: ArtifactStore;
  /** Used to install graphile-worker's schema (createRun enqueues into it); defaults to DATABASE_URL. */
  databaseUrl?: string;
  /** Default: API_PORT / PORT / 4000; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Disables introspection and the landing page. Default: NODE_ENV=production. */
  production?: boolean;
  /** Overrides of the environment-derived configuration. */
  config?: Partial<ApiConfig>;
  logger?: Logger;
  /** Environment to read the configuration from (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface RunningApi {
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  /** The GraphQL endpoint, `${url}/graphql`. */
  graphqlUrl: string;
  port: number;
  config: ApiConfig;
  close(): Promise<void>;
}

function requestLogPlugin(log: Logger): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, errors }) {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          log.debug({ operationName, ms: Math.round(ms * 10) / 10, errors: errors?.length ?? 0 }, 'graphql request');
        },
      };
    },
  };
}

export async function createApi(opts: CreateApiOptions): Promise<RunningApi> {
  const base = loadConfig(opts.env ?? process.env);
  const config: ApiConfig = {
    ...base,
    ...opts.config,
    port: opts.port ?? opts.config?.port ?? base.port,
    host: opts.host ?? opts.config?.host ?? base.host,
    production: opts.production ?? opts.config?.production ?? base.production,
    databaseUrl: opts.databaseUrl ?? opts.config?.databaseUrl ?? base.databaseUrl,
  };
  const log = opts.logger ?? createLogger(config.logLevel);
  if (!config.databaseUrl) throw new Error('createApi needs databaseUrl (or DATABASE_URL) to install the job queue schema');
  // Idempotent and locked by graphile-worker itself, so concurrent API/worker starts are safe.
  await runMigrations({ connectionString: config.databaseUrl, logger: workerLogger(log) });

  // One LISTEN connection per process feeds every subscription it serves.
  const stopPruning = startRateLimitPruning(opts.prisma, config.rateLimits, log);
  const runEvents = startRunEventHub(config.databaseUrl, {
    onError: (error) => log.warn({ err: error }, 'run event connection failed; reconnecting'),
    onReconnect: () => log.info('run event connection back; missed events replayed from the log'),
    prune: { prisma: opts.prisma },
  });
  await runEvents.ready;
  const services: ApiServices = { prisma: opts.prisma, store: opts.store, config, log, runEvents };
  const app = express();
  app.disable('x-powered-by');
  // req.ip is the client's address as the trusted proxy (the dashboard) reports it.
  app.set('trust proxy', config.trustProxy);
  app.use(securityHeaders({ landingPage: !config.production }));
  const httpServer = http.createServer(app);

  const armor = armorProtection(config.limits);
  const schema = makeExecutableSchema({ typeDefs, resolvers: resolvers as Parameters<typeof makeExecutableSchema>[0]['resolvers'] });
  const formatError = errorFormatter(config.debugErrors, log);
  const subscriptions = startSubscriptionServer({ httpServer, schema, services, validationRules: armor.validationRules, formatError, log });
  const apollo = new ApolloServer<ApiContext>({
    schema,
    introspection: !config.production,
    includeStacktraceInErrorResponses: config.debugErrors,
    allowBatchedHttpRequests: false,
    validationRules: armor.validationRules,
    formatError,
    plugins: [
      ...(armor.plugins as ApolloServerPlugin<ApiContext>[]),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              stopPruning();
              await subscriptions.close();
              await runEvents.close();
            },
          };
        },
      },
      requestLogPlugin(log),
      legacyJsonStatusPlugin<ApiContext>(),
      inputSanityPlugin<ApiContext>(),
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
  });
  await apollo.start();

  app.get('/health', healthHandler(opts.prisma));
  const limited = rateLimiter(opts.prisma, config.rateLimits, log);
  app.post('/upload', limited, uploadHandler(services));
  app.get('/models/:id/files', limited, modelFileHandler(services));
  app.get('/models/:id/download', limited, modelFileHandler(services, { whole: true }));
  app.use(
    '/graphql',
    limited,
    express.json({ limit: config.maxBodyBytes }),
    queryTokenLimit(config.limits.maxTokens),
    expressMiddleware(apollo, {
      context: async ({ req }) => createContext(services, req.headers.authorization, { address: req.ip, userAgent: req.headers['user-agent'] }),
    }),
  );
  app.use(notFoundHandler);
  app.use(jsonErrorHandler(config.debugErrors, log));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}`;
  log.info({ url, production: config.production }, 'api listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    port,
    config,
    close() {
      // apollo.stop() drains in-flight requests and closes the HTTP server (drain plugin).
      closing ??= apollo.stop();
      return closing;
    },
  };
}
