#!/usr/bin/env node
/**
 * Compiles the TypeScript only when something it is built from changed since the last build:
 * `npm start`, `npm run token`, `npm test` and the bench start from an up-to-date dist/ in a few
 * tens of milliseconds instead of recompiling every time. When it is stale they compile it with
 * esbuild (each file on its own, no type check: about half a second, where tsc takes about 7 s
 * here, most of a first `npm start`); `npm run build` compiles with tsc, which checks the types.
 *
 * "Changed" is a hash of the contents (not the times) of every file under src/, bench/ and
 * test/helpers/, of the tsconfig and package files, and of the exact version of every installed
 * package as package-lock.json records it, kept in dist/.build-inputs after a successful build; an
 * edit, a deleted or added file, a checkout or a dependency update all change it. What npm writes
 * into the lock about a package besides its version and hash (flags such as "hasInstallScript" or
 * "dev", the order of keys) does not count: it changes nothing that is compiled.
 *
 * Where TypeScript is not installed (a production install: npm ci --omit=dev, npm prune --omit=dev)
 * an up-to-date dist/ starts as usual; a stale or missing one stops with one line saying what to run.
 *
 *   node scripts/build-if-stale.mjs           build if stale (says so on stderr), else nothing
 *   node scripts/build-if-stale.mjs --force   always build, with tsc's type check (npm run build)
 *   node scripts/build-if-stale.mjs --check   exit 0 if up to date, 1 if stale; builds nothing
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIRS = ['src', 'bench', 'test/helpers'];
const FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const LOCK = 'package-lock.json';
const STAMP = 'dist/.build-inputs';
/** What the build must have produced for the stamp to count. */
const OUTPUTS = ['dist/src/server.js', 'dist/src/cli/token.js'];

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** What the lock says is installed: each package's place, version and hash, one per line, sorted. */
function lockedPackages(root) {
  const file = join(root, LOCK);
  if (!existsSync(file)) return '';
  let packages;
  try {
    ({ packages = {} } = JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return readFileSync(file, 'utf8'); // not JSON: npm will say so; any edit counts
  }
  return Object.entries(packages)
    .filter(([path]) => path !== '')
    .map(([path, p]) => `${path} ${p.version ?? ''} ${p.integrity ?? p.resolved ?? ''}`)
    .sort()
    .join('\n');
}

/** One hash over the path and contents of every input file, in a stable order, and the locked packages. */
export function inputsHash(root = ROOT) {
  const files = [...DIRS.flatMap((d) => walk(join(root, d), [])), ...FILES.map((f) => join(root, f)).filter((f) => existsSync(f))];
  const hash = createHash('sha256');
  for (const file of files.map((f) => relative(root, f)).sort()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  hash.update(`${LOCK}\0${lockedPackages(root)}\0`);
  return hash.digest('hex');
}

/** Why a build is needed, or undefined when dist/ is up to date. */
export function staleness(root = ROOT, want = inputsHash(root)) {
  const missing = OUTPUTS.find((f) => !existsSync(join(root, f)));
  if (missing) return `${missing} is missing`;
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return 'no record of the last build';
  if (readFileSync(stamp, 'utf8').trim() !== want) return 'sources changed since the last build';
  return undefined;
}

/** The TypeScript the build compiles: what tsconfig.build.json includes, and the test helpers the bench imports. */
function sources(root) {
  const keep = (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.bench.ts');
  return DIRS.flatMap((d) => walk(join(root, d), [])).filter(keep);
}

function resolveFrom(root, id) {
  try {
    return createRequire(join(root, 'package.json')).resolve(id);
  } catch {
    return undefined;
  }
}

function notInstalled(why) {
  process.stderr.write(
    `cannot compile dist/ (${why}): TypeScript is not installed (a production install, --omit=dev); build where it is (npm ci && npm run build), then npm run start:prod\n`,
  );
  process.exit(1);
}

/**
 * npm run build: tsc checks the types and compiles. A type error stops it, with tsc's message.
 * The build of npm start, npm test and the bench: esbuild compiles each file on its own (the same
 * dist/ layout, ES modules, source maps) in under a second instead of tsc's several, and checks no
 * types; npm run typecheck, npm run build and CI do.
 */
async function build(root, why, { typecheck }) {
  const want = inputsHash(root);
  // TypeScript marks an install that may compile (a production one has none; esbuild may still be
  // there, as a dependency of the example's packages in a checkout): without it, nothing compiles.
  const tsc = resolveFrom(root, 'typescript/bin/tsc') ?? notInstalled(why);
  if (typecheck) {
    process.stderr.write(`compiling TypeScript (${why})...\n`);
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  } else {
    const esbuildPath = resolveFrom(root, 'esbuild') ?? notInstalled(why);
    process.stderr.write(`compiling TypeScript (${why})...\n`);
    const esbuild = await import(pathToFileURL(esbuildPath).href);
    try {
      await esbuild.build({
        entryPoints: sources(root),
        outdir: join(root, 'dist'),
        outbase: root,
        absWorkingDir: root,
        format: 'esm',
        platform: 'node',
        target: 'node22',
        sourcemap: true,
        logLevel: 'error',
      });
    } catch {
      process.exit(1); // esbuild has printed the error
    }
  }
  mkdirSync(join(root, 'dist'), { recursive: true });
  // The hash of what was compiled: a file edited during the build makes the next run build again.
  writeFileSync(join(root, STAMP), `${want}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  if (args.includes('--force')) await build(ROOT, 'npm run build', { typecheck: true });
  else {
    const why = staleness(ROOT);
    if (args.includes('--check')) {
      if (why) process.stderr.write(`dist/ is stale: ${why}\n`);
      process.exit(why ? 1 : 0);
    }
    if (why) await build(ROOT, why, { typecheck: false });
  }
}
