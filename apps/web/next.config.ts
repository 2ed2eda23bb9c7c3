/**
 * The dashboard is a pure GraphQL client. `/graphql` and `/upload` are forwarded to the
 * API (API_URL, default http://127.0.0.1:4000) by route handlers under app/, read at
 * request time, so one build serves any API address.
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
};

export default config;
