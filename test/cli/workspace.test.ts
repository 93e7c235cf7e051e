/**
 * One version, one install for the API and its client:
 *
 * - the service and @task-api/client carry one version, MAJOR.MINOR.PATCH, whose MAJOR is the
 *   API's contract version (CHANGELOG.md's newest "## Version N"), and /openapi.json says it;
 * - packages/client is a workspace of the root: one lockfile and one `npm install` for both;
 * - examples/nextjs keeps a lockfile of its own: in the root's, Next.js, React, pg and
 *   better-sqlite3 would be installed by every `npm install` of the API (Better Auth and Drizzle,
 *   dependencies of the API, name them as optional peers, which npm installs when the lockfile
 *   has them), so the root lockfile must not list them. The example's lockfile records the
 *   client at its version, or `npm ci` there fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { ROOT } from '../helpers/process.js';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
}
interface Lockfile {
  version: string;
  packages: Record<string, { name?: string; version?: string; link?: boolean; resolved?: string }>;
}
const json = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T;

const root = json<Manifest>('package.json');
const client = json<Manifest>('packages/client/package.json');
const example = json<Manifest>('examples/nextjs/package.json');

describe('the workspace: the API and its client', () => {
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

  it('packages/client is the one workspace; the root lockfile links it and holds none of the example\'s frontend packages', () => {
    expect(root.workspaces).toEqual(['packages/client']);
    expect(client.private).toBeUndefined(); // publishable
    expect(client.license).toBe(root.license);
    expect(Object.keys(client.dependencies ?? {})).toEqual(['openapi-fetch']);

    const lock = json<Lockfile>('package-lock.json');
    expect(lock.version).toBe(root.version);
    expect(lock.packages['node_modules/@task-api/client']).toEqual({ resolved: 'packages/client', link: true });
    expect(lock.packages['packages/client']).toMatchObject({ name: '@task-api/client', version: client.version });
    // `pg` is the API's own since version 3: the job queue (graphile-worker) runs on it (docs/ARCHITECTURE.md, Background jobs).
    for (const name of ['next', 'react', 'react-dom', 'better-sqlite3']) {
      expect(Object.keys(lock.packages).filter((p) => p === `node_modules/${name}` || p.endsWith(`/node_modules/${name}`)), name).toEqual([]);
    }
  });

  it('examples/nextjs has its own lockfile, which links the client at its version', () => {
    expect(example.dependencies?.['@task-api/client']).toBe('file:../../packages/client');
    const lock = json<Lockfile>('examples/nextjs/package-lock.json');
    expect(lock.packages['node_modules/@task-api/client']).toEqual({ resolved: '../../packages/client', link: true });
    expect(lock.packages['../../packages/client']).toMatchObject({ name: '@task-api/client', version: client.version });
  });
});
