import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'prisma/config';

// The Prisma CLI downloads a native schema engine at start, which fails on
// machines without internet. When the team's offline stand-in sits next to the
// checkout, point the CLI at it; elsewhere the CLI uses its real engine.
// The app never needs this: it migrates itself (packages/db/src/migrate.ts).
const shim = path.join(import.meta.dirname, '../shared/tools/prisma-offline/schema-engine-shim.mjs');
if (existsSync(shim)) process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= shim;

// Without DATABASE_URL the CLI talks to the server the app itself starts in
// .data/ (packages/db/src/embedded-postgres.ts defaults), so `prisma migrate
// dev` and the app see the same local database.
const localDevUrl = 'postgresql://postgres:distillery@127.0.0.1:5433/distillery';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? localDevUrl },
});
