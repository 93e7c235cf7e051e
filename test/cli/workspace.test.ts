/**
 * One version, one workspace, one install for the API, its client and the example:
 *
 * - the service and @task-api/client carry one version, MAJOR.MINOR.PATCH, whose MAJOR is the
 *   API's contract version (CHANGELOG.md's newest "## Version N"), and /openapi.json says it;
 * - packages/client and examples/nextjs are workspaces of the root: one lockfile (the root's) and
 *   one `npm install` for all three. The example takes the client from the workspace (a link, never
 *   the registry), and nothing is built or compiled at install: the example uses Node's built-in
 *   SQLite (no native addon), and builds the client's dist/ before dev, build and typecheck (a
 *   `prepare` would run tsc in every install of the root);
 * - `npm install` rewrites neither package.json nor the lockfile (git status stays clean);
 * - the container installs none of the example's packages: npm installs them (Next.js, React) even
 *   with --workspaces=false whenever examples/nextjs/package.json is there, as Better Auth, a
 *   devDependency, names them as optional peers; .dockerignore keeps examples/ out.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { cleanEnv, ROOT, runOk, scratchDir } from '../helpers/process.js';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  workspaces?: string[];
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
interface Lockfile {
  version: string;
  packages: Record<string, { name?: string; version?: string; link?: boolean; resolved?: string }>;
}
const json = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T;

const root = json<Manifest>('package.json');
const client = json<Manifest>('packages/client/package.json');
const example = json<Manifest>('examples/nextjs/package.json');
const lock = json<Lockfile>('package-lock.json');
const WORKSPACES = ['packages/client', 'examples/nextjs'];

describe('the workspace: the API, its client and the example', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
  });
  afterAll(async () => t?.close());

  it("the service and the client have one version, whose major is the API's newest version in CHANGELOG.md; /openapi.json says it", async () => {
    const released = [...readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8').matchAll(/^## Version (\d+)\b/gm)].map((m) => Number(m[1]));
    expect(released.length).toBeGreaterThan(0);
    expect(root.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(root.version.split('.')[0])).toBe(Math.max(...released));
    expect(client.version).toBe(root.version);

    const res = await t.app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.json().info.version).toBe(root.version);
  });

  it('packages/client and examples/nextjs are the workspaces, with one lockfile, the root\'s, which links both', () => {
    expect(root.workspaces).toEqual(WORKSPACES);
    const lockfiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*package-lock.json', '*npm-shrinkwrap.json'], { cwd: ROOT, encoding: 'utf8' });
    expect(lockfiles.split('\n').filter(Boolean)).toEqual(['package-lock.json']);

    expect(lock.version).toBe(root.version);
    expect(lock.packages['node_modules/@task-api/client']).toEqual({ resolved: 'packages/client', link: true });
    expect(lock.packages['packages/client']).toMatchObject({ name: '@task-api/client', version: client.version });
    expect(lock.packages[`node_modules/${example.name}`]).toEqual({ resolved: 'examples/nextjs', link: true });
    expect(lock.packages['examples/nextjs']).toMatchObject({ name: example.name, version: example.version });
  });

  it('the client is publishable: its own licence, one dependency, and a build only when packed (prepack), never at install', () => {
    expect(client.private).toBeUndefined();
    expect(client.license).toBe(root.license);
    expect(Object.keys(client.dependencies ?? {})).toEqual(['openapi-fetch']);
    expect(client.scripts?.prepack).toBe('npm run build');
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(client.scripts?.[hook], hook).toBeUndefined();
  });

  it('the example takes the client from the workspace, at its major, and builds nothing at install', () => {
    expect(example.private).toBe(true);
    expect(example.dependencies?.['@task-api/client']).toBe(`^${client.version.split('.')[0]}.0.0`);
    // Only the root's link: no copy of the client from the registry anywhere in the tree.
    expect(Object.keys(lock.packages).filter((p) => p.endsWith('node_modules/@task-api/client'))).toEqual(['node_modules/@task-api/client']);
    const resolved = createRequire(join(ROOT, 'examples/nextjs/package.json')).resolve('@task-api/client/package.json');
    expect(realpathSync(resolved)).toBe(realpathSync(join(ROOT, 'packages/client/package.json')));

    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(example.scripts?.[hook], hook).toBeUndefined();
    for (const hook of ['predev', 'prebuild', 'pretypecheck']) expect(example.scripts?.[hook], hook).toBe('node scripts/build-client.mjs');
    // No native addon to compile: Better Auth's SQLite is node:sqlite.
    expect(Object.keys(lock.packages).filter((p) => p.endsWith('node_modules/better-sqlite3'))).toEqual([]);
  });

  it("the container's install adds none of the example's packages: .dockerignore leaves examples/ out of its context", async () => {
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')).toContain('examples');
    // What the Dockerfile's build stage installs from (package.json, the lockfile, packages/client's
    // manifest, scripts/, vendor/), as npm would: `npm ci --workspaces=false`, then `npm prune`.
    const dir = join(scratchDir('task-api-container-'), 'app');
    for (const file of ['package.json', 'package-lock.json', 'packages/client/package.json']) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(dir, file));
    }
    for (const d of ['scripts', 'vendor']) if (existsSync(join(ROOT, d))) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
    const added = async () => {
      const { stdout } = await runOk('npm', ['install', '--workspaces=false', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env: cleanEnv(), timeoutMs: 120_000 });
      return stdout.split('\n').filter((l) => l.startsWith('add ')).map((l) => l.split(' ')[1]);
    };
    const image = await added();
    expect(image).toContain('fastify');
    for (const name of ['next', 'react', 'react-dom']) expect(image, name).not.toContain(name);
    // With the example's package.json in the context, npm would install Next.js into the image.
    mkdirSync(join(dir, 'examples/nextjs'), { recursive: true });
    copyFileSync(join(ROOT, 'examples/nextjs/package.json'), join(dir, 'examples/nextjs/package.json'));
    expect(await added()).toContain('next');
  }, 150_000);

  it('npm install rewrites neither package.json nor the lockfile', async () => {
    const dir = join(scratchDir('task-api-workspace-'), 'repo');
    for (const file of ['package.json', 'package-lock.json', ...WORKSPACES.map((w) => `${w}/package.json`)]) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(dir, file));
    }
    if (existsSync(join(ROOT, 'vendor'))) cpSync(join(ROOT, 'vendor'), join(dir, 'vendor'), { recursive: true });
    await runOk('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env: cleanEnv(), timeoutMs: 120_000 });
    for (const file of ['package.json', 'package-lock.json', ...WORKSPACES.map((w) => `${w}/package.json`)]) {
      expect(readFileSync(join(dir, file), 'utf8'), file).toBe(readFileSync(join(ROOT, file), 'utf8'));
    }
    // What an install or a build writes is ignored.
    const ignored = ['node_modules/x', 'packages/client/dist/index.js', 'examples/nextjs/node_modules/x', 'examples/nextjs/.next/x', 'examples/nextjs/.data/auth.sqlite'];
    expect(execFileSync('git', ['check-ignore', ...ignored], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean)).toEqual(ignored);
  }, 150_000);
});
