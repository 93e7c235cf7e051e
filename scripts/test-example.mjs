#!/usr/bin/env node
/**
 * `npm run test:example`: the Next.js example (examples/nextjs) in Chromium against this API.
 *
 * packages/client and examples/nextjs are workspaces of the root: the root's `npm install` (or
 * `npm ci`) installs both from the one lockfile. This runs that install only when the example's
 * packages are missing (a tree installed with `--workspaces=false`, say), builds the client's dist/
 * when a source is newer (the example imports the built package), then runs the example's
 * `npm run test:example` (which builds the API and the app, starts both on free ports and drives
 * Chromium; see examples/nextjs/README.md). Its environment passes through (SKIP_BUILD=1, ...).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const example = join(root, 'examples/nextjs');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const say = (line) => process.stdout.write(`test:example: ${line}\n`);

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`test:example: ${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

const installed = ['next/package.json', 'react/package.json', 'playwright-core/package.json', '@task-api/client/package.json'].every((name) => {
  try {
    createRequire(join(example, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
});
if (!installed) {
  say("the example's packages are not installed: npm install at the repository root");
  run(npm, ['install', '--no-audit', '--no-fund'], root);
}

const started = Date.now();
run(process.execPath, [join(example, 'scripts/build-client.mjs')], example);
run(npm, ['run', 'test:example'], example);
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
