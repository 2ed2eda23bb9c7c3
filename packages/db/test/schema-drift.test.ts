import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../src/index.ts';
import { repoRoot } from '../src/paths.ts';

// The Prisma CLI needs its native schema engine, which these machines cannot
// download; the team's offline stand-in lives next to the checkout. Without
// it this check cannot run here, and a machine with internet runs the same
// command in CI with the real engine.
const shim = path.join(repoRoot, '../shared/tools/prisma-offline/schema-engine-shim.mjs');
const shimMissing = !existsSync(shim);

describe.skipIf(shimMissing)('prisma/schema.prisma and prisma/migrations', () => {
  let db: TestDatabase | undefined;
  afterAll(async () => db?.drop());

  it('agree (prisma migrate diff --from-migrations --to-schema --exit-code)', async () => {
    // migrate diff replays the migrations in a shadow database it creates on
    // DATABASE_URL's server; our own fresh database keeps runs apart.
    db = await createTestDatabase({ migrate: false });
    const cli = createRequire(path.join(repoRoot, 'package.json')).resolve('prisma/build/index.js');
    const result = spawnSync(
      process.execPath,
      [cli, 'migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', 'prisma/schema.prisma', '--exit-code'],
      { cwd: repoRoot, env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8' },
    );
    // Exit code 2 means a difference: the schema changed without a migration.
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});

if (shimMissing) {
  describe('prisma/schema.prisma and prisma/migrations', () => {
    it.skip(`agree: skipped, ${shim} not found (the Prisma CLI cannot run offline without it)`, () => {});
  });
}
