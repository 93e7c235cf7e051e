#!/usr/bin/env node
// Runs after `npm install` here: @task-api/client is linked from ../../packages/client (a `file:`
// dependency), so its own dependencies and its dist/ must exist there. Installs and builds it once;
// skipped when dist/ is newer than every source file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../packages/client', import.meta.url));
const newest = (d) =>
  readdirSync(d, { withFileTypes: true }).reduce(
    (m, e) => Math.max(m, e.isDirectory() ? newest(join(d, e.name)) : statSync(join(d, e.name)).mtimeMs),
    0,
  );
const built = join(dir, 'dist/index.js');
if (existsSync(built) && existsSync(join(dir, 'node_modules/openapi-fetch')) && statSync(built).mtimeMs >= newest(join(dir, 'src'))) {
  console.log('@task-api/client: dist/ is up to date');
} else {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = (args) => execFileSync(npm, args, { cwd: dir, stdio: 'inherit' });
  run(existsSync(join(dir, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']);
  run(['run', 'build']);
}
