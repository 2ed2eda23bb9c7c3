import { PrismaPg } from '@prisma/adapter-pg';
import { startEmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.ts';
import { PrismaClient } from './generated/client.ts';
import { migrate, type MigrateOptions } from './migrate.ts';

/** A Prisma client over node-postgres; the generated client needs no engine binary. */
export interface PrismaClientOptions {
  /** Called with every SQL statement the client sends (tests count queries with it). */
  onQuery?: (sql: string) => void;
}

/**
 * Session settings of every connection. JIT off: our queries are short lookups and index
 * walks, and once a plan's estimated cost passes jit_above_cost, Postgres spends 50-200 ms
 * compiling it (more than the query itself: the budgeted leaderboard's p99).
 */
const SESSION_OPTIONS = '-c jit=off';

export function createPrismaClient(url: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: url, options: SESSION_OPTIONS });
  if (!options.onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  const onQuery = options.onQuery;
  client.$on('query', (e) => onQuery(e.query));
  return client;
}

export interface ResolvedDatabase {
  url: string;
  /** True when the app started its own embedded server because DATABASE_URL was unset. */
  embedded: boolean;
  /** Stops the embedded server if this process owns it; nothing for DATABASE_URL. */
  stop(): Promise<void>;
}

export interface ResolveDatabaseOptions extends MigrateOptions {
  /** Defaults to process.env.DATABASE_URL. */
  databaseUrl?: string;
  embedded?: EmbeddedPostgresOptions;
}

/**
 * The database the app should use, migrated to the latest schema: the server
 * named by DATABASE_URL, or else an embedded server in `.data/`.
 */
export async function resolveDatabase(options: ResolveDatabaseOptions = {}): Promise<ResolvedDatabase> {
  const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    await migrate(databaseUrl, options);
    return { url: databaseUrl, embedded: false, stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres(options.embedded);
  try {
    await migrate(server.url, options);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: server.url, embedded: true, stop: () => server.stop() };
}
