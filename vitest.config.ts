import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      // graphql 16 ships a CommonJS entry (main) and an ES module one (module). Vite picks the
      // latter for the code it transforms, while Node loads the former for the packages it
      // imports natively (graphql-ws, @graphql-tools, Apollo): two copies of graphql in one
      // process, whose schemas and errors fail each other's instanceof checks ("Cannot use
      // GraphQLSchema from another module or realm"). Resolve it as Node does, so one copy runs.
      { find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'workers/test/**/*.test.ts', 'apps/api/test/**/*.test.ts', 'e2e/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
