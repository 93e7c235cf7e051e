#!/usr/bin/env node
// Runs after `npm install` here: @task-api/client is linked from ../../packages/client (a `file:`
// dependency), a workspace of the repository root, so the root's `npm install` gives it its
// dependency (openapi-fetch) and its build tool (TypeScript). When the root was not installed (a
// deployment that installs this folder alone, such as Vercel's Root Directory), this installs the
// client's workspace alone there (`npm install --workspace packages/client`: a few packages, not the
// API's). Then builds the client's dist/ when a source file is newer than it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const dir = join(repo, 'packages/client');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args, cwd) => execFileSync(npm, args, { cwd, stdio: 'inherit' });

const resolvable = (name) => {
  try {
    createRequire(join(dir, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
};
if (!resolvable('openapi-fetch') || !resolvable('typescript/bin/tsc')) {
  run(['install', '--workspace', 'packages/client', '--no-audit', '--no-fund'], repo);
}

const newest = (d) =>
  readdirSync(d, { withFileTypes: true }).reduce(
    (m, e) => Math.max(m, e.isDirectory() ? newest(join(d, e.name)) : statSync(join(d, e.name)).mtimeMs),
    0,
  );
const built = join(dir, 'dist/index.js');
if (existsSync(built) && statSync(built).mtimeMs >= newest(join(dir, 'src'))) {
  console.log('@task-api/client: dist/ is up to date');
} else {
  run(['run', 'build'], dir);
}
