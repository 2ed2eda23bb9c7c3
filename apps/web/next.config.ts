/**
 * The dashboard is a pure GraphQL client. `/graphql` and `/upload` are forwarded to the
 * API (API_URL, default http://127.0.0.1:4000) by handlers that read it at request time,
 * so one build serves any API address: `/graphql` by a route handler under app/,
 * `/upload` by the streaming Pages API route it is rewritten to (server/upload-proxy.ts).
 */
import path from 'node:path';
import type { NextConfig } from 'next';

const repoRoot = path.resolve(import.meta.dirname, '../..');

const config: NextConfig = {
  reactStrictMode: true,
  // npm workspaces hoist dependencies to the repository root.
  outputFileTracingRoot: repoRoot,
  turbopack: { root: repoRoot },
  poweredByHeader: false,
  // The metric catalogue is shared TypeScript source from a workspace package.
  transpilePackages: ['@distillery/eval'],
  // An internal path, not the API's address, so it is safe to freeze into the build.
  rewrites: async () => [{ source: '/upload', destination: '/api/upload' }],
};

export default config;
