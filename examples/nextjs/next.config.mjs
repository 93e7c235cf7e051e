import { fileURLToPath } from 'node:url';

// The repository root: @task-api/client is linked from ../../packages/client, which Next.js must
// be allowed to read (Turbopack) and to trace into the server output.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
  // The Node-only database driver (pg) stays outside the bundle (node:sqlite is built in).
  serverExternalPackages: ['pg'],
};

export default nextConfig;
