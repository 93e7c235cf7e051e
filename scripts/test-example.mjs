#!/usr/bin/env node
/**
 * `npm run test:example`: the Next.js example (examples/nextjs) in Chromium against this API.
 *
 * packages/client is a workspace of the root (the root's `npm install` installs it); examples/nextjs
 * is a project of its own, with its own lockfile (the root's `npm install` does not install Next.js).
 * This installs the example with `npm ci` when needed (no node_modules yet, or its package.json,
 * package-lock.json or the Node version changed since the last install here: a stamp in
 * node_modules says), makes sure the client's dist/ is built, then runs the example's
 * `npm run test:example` (which builds the API and the app, starts both on free ports and drives
 * Chromium; see examples/nextjs/README.md). Its environment passes through (SKIP_BUILD=1, ...).
 *
 *   npm run test:example                  install if needed, then the browser test
 *   node scripts/test-example.mjs --install-only
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const STAMP = '.task-api-install-stamp';
const say = (line) => process.stdout.write(`test:example: ${line}\n`);

/**
 * Native addons (better-sqlite3) are built against the headers of the Node that runs them: an npm
 * configured with another `nodedir` (a machine's own Node, say 20, while CI runs 22) would build them
 * for the wrong ABI ("compiled against a different Node.js version"). The Node binaries of the npm
 * registry and of Linux distributions keep their headers in <prefix>/include/node.
 */
const prefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_version.h')) ? { npm_config_nodedir: prefix } : {};

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit', env: { ...process.env, ...nodedir } });
  if (r.status !== 0) {
    process.stderr.write(`test:example: ${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

/** What an install depends on: the manifest, the lockfile, the Node version (native addons). */
function fingerprint(dir) {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(readFileSync(join(dir, f)));
  h.update(`${process.version} ${process.platform} ${process.arch} ${JSON.stringify(nodedir)}`);
  return h.digest('hex');
}

function ensureInstalled(rel) {
  const dir = join(root, rel);
  const stamp = join(dir, 'node_modules', STAMP);
  const want = fingerprint(dir);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) {
    say(`${rel} is installed (npm ci not needed)`);
    return;
  }
  const started = Date.now();
  say(`npm ci in ${rel}`);
  run(npm, ['ci', '--no-audit', '--no-fund'], dir);
  writeFileSync(stamp, want);
  say(`${rel} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const started = Date.now();
ensureInstalled('examples/nextjs'); // its postinstall builds packages/client
// The client's dist/ is rebuilt when a source is newer (the example imports the built package).
run(process.execPath, [join(root, 'examples/nextjs/scripts/build-client.mjs')], join(root, 'examples/nextjs'));
if (process.argv.includes('--install-only')) process.exit(0);

run(npm, ['run', 'test:example'], join(root, 'examples/nextjs'));
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
