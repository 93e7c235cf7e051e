#!/usr/bin/env node
/**
 * Makes vendor/postgres-3.4.9-patched.tgz, the postgres.js that package.json installs: the registry's
 * postgres-3.4.9.tgz (checked against its published sha512) with every patches/postgres-3.4.9-*.patch
 * applied, in name order (the connection queue, porsager/postgres#747; a connection closed under a
 * transaction, porsager/postgres#1155). The tarball is committed, so `npm ci`
 * installs the patched driver with or without `--ignore-scripts`, and nothing rewrites node_modules.
 *
 *   node scripts/vendor-postgres.mjs           write the tarball (then `npm install` records its hash)
 *   node scripts/vendor-postgres.mjs --check   make it in a temp folder; exit 1 unless the committed
 *                                              tarball holds the same files, byte for byte (CI)
 *   --patch FILE (repeatable), --out FILE      other patches, another destination
 *
 * It refuses to write anything when the patch does not apply exactly (no fuzz): after a postgres.js
 * update, look at the new queue.js, connection.js and index.js (a fix may be upstream), then
 * rewrite each patch or drop it.
 * Needs npm (the registry or its cache), tar and patch. Plain JavaScript, no dependency.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const VERSION = '3.4.9';
/** The registry's postgres-3.4.9.tgz (npm view postgres@3.4.9 dist.integrity). */
const REGISTRY_INTEGRITY = 'sha512-GD3qdB0x1z9xgFI6cdRD6xu2Sp2WCOEoe3mtnyB5Ee0XrrL5Pe+e4CCnJrRMnL1zYtRDZmQQVbvOttLnKDLnaw==';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : resolve(args[at + 1] ?? fail(`${name} needs a value`));
};
const check = args.includes('--check');
const given = args.flatMap((a, i) => (a === '--patch' ? [resolve(args[i + 1] ?? fail('--patch needs a value'))] : []));
const patchFiles =
  given.length > 0
    ? given
    : readdirSync(join(ROOT, 'patches'))
        .filter((f) => f.startsWith(`postgres-${VERSION}-`) && f.endsWith('.patch'))
        .sort()
        .map((f) => join(ROOT, 'patches', f));
const patchNames = patchFiles.map((f) => relative(ROOT, f)).join(', ');
const committed = join(ROOT, `vendor/postgres-${VERSION}-patched.tgz`);
const out = option('--out', committed);

/** The temp folder the tarballs are made in (removed on every way out, `fail` included). */
let work;

function fail(message) {
  process.stderr.write(`vendor-postgres: ${message}\n`);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

function sh(cmd, argv, cwd, what) {
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) fail(`${what}: ${cmd} could not run (${r.error.message})`);
  if (r.status !== 0) fail(`${what} failed:\n${(r.stdout + r.stderr).trim()}`);
  return r.stdout;
}

const integrity = (file) => `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;

/** One hash over the path and bytes of every file a tarball holds (unpacked into `dir`). */
function contents(tarball, dir) {
  mkdirSync(dir);
  sh('tar', ['-xzf', tarball, '-C', dir], dir, `unpacking ${tarball}`);
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else files.push(join(d, e.name));
    }
  };
  walk(dir);
  const hash = createHash('sha256');
  for (const f of files.map((f) => relative(dir, f)).sort()) hash.update(`${f}\0`).update(readFileSync(join(dir, f))).update('\0');
  return hash.digest('hex');
}

work = mkdtempSync(join(tmpdir(), 'vendor-postgres-'));
try {
  if (patchFiles.length === 0) fail(`no patches/postgres-${VERSION}-*.patch`);
  for (const f of patchFiles) if (!existsSync(f)) fail(`no patch at ${f}`);
  sh('npm', ['pack', `postgres@${VERSION}`, '--prefer-offline', '--silent', '--pack-destination', work], work, `npm pack postgres@${VERSION}`);
  const original = join(work, `postgres-${VERSION}.tgz`);
  if (integrity(original) !== REGISTRY_INTEGRITY) fail(`the registry's postgres-${VERSION}.tgz is not the one this patch was written for (${integrity(original)})`);
  const pkg = join(work, 'package');
  sh('tar', ['-xzf', original], work, 'unpacking');
  rmSync(original);
  for (const patchFile of patchFiles) {
    const patchArgs = ['-p1', '--fuzz=0', '--forward', '--batch', '--no-backup-if-mismatch', '--reject-file=-', '-i', patchFile];
    sh('patch', ['--dry-run', ...patchArgs], pkg, `the patch ${relative(ROOT, patchFile)} does not apply to postgres@${VERSION}; nothing written. patch`);
    sh('patch', ['--quiet', ...patchArgs], pkg, 'patch');
  }
  // npm pack writes entries in a fixed order with fixed times: the same input makes the same bytes.
  sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], pkg, 'npm pack (patched)');
  const made = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) ?? fail('npm pack wrote no tarball'));
  if (check) {
    if (!existsSync(committed)) fail(`${relative(ROOT, committed)} is missing: run node scripts/vendor-postgres.mjs`);
    // The files, not the gzip bytes: another npm may compress the same files differently.
    if (contents(made, join(work, 'made')) !== contents(committed, join(work, 'committed'))) {
      fail(`${relative(ROOT, committed)} is not the registry's postgres@${VERSION} with ${patchNames}: run node scripts/vendor-postgres.mjs, then npm install`);
    }
    process.stdout.write(`${relative(ROOT, committed)}: the registry's postgres@${VERSION} with ${patchNames}\n`);
  } else {
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(made, out);
    process.stdout.write(`wrote ${relative(process.cwd(), out)} (${integrity(out)}); run npm install to record it in package-lock.json\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
