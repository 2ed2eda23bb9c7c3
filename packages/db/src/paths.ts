import path from 'node:path';
import { fileURLToPath } from 'node:url';

// This file lives at packages/db/src/, three levels below the repository root.
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Prisma's migration folders, one `<timestamp>_<name>/migration.sql` each. */
export const defaultMigrationsDir = path.join(repoRoot, 'prisma', 'migrations');

/** Where the embedded Postgres keeps its cluster when DATABASE_URL is unset. */
export const defaultEmbeddedDataDir = path.join(repoRoot, '.data', 'postgres');
