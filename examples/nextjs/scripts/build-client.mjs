#!/usr/bin/env node
// Runs before `npm run dev`, `npm run build` and `npm run typecheck` here (predev, prebuild,
// pretypecheck): @task-api/client is a workspace of the repository root, linked into node_modules,
// and the app imports its built dist/. Builds it when a source file is newer than dist/ (a few
// seconds; nothing when it is up to date). No install step builds it, so the root's `npm install`
// spends no time on it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../packages/client', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const newest = (d) =>
  readdirSync(d, { withFileTypes: true }).reduce(
    (m, e) => Math.max(m, e.isDirectory() ? newest(join(d, e.name)) : statSync(join(d, e.name)).mtimeMs),
    0,
  );
const built = join(dir, 'dist/index.js');
if (existsSync(built) && statSync(built).mtimeMs >= newest(join(dir, 'src'))) {
  console.log('@task-api/client: dist/ is up to date');
} else {
  execFileSync(npm, ['run', 'build'], { cwd: dir, stdio: 'inherit' });
}
