/**
 * Vitest global setup: one embedded PostgreSQL server for the whole run (the same launcher as
 * `npm start`, in a temp DATA_DIR, with fsync off: test data need not survive a power cut), and a
 * migrated template database on it and, with TEST_DATABASE_URL, on the external server, so a test
 * file gets a fresh migrated database with one CREATE DATABASE. Every temp folder the test files
 * make (data folders, clusters, scratch projects) goes under one folder of this run, removed at the
 * end: a run leaves nothing in the system's temp dir (it left about 600 MB there before).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { makeTemplate, type ScratchDatabase } from './scratch.js';

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedUrl: string;
    embeddedTemplate: string;
    externalTemplate: string | undefined;
  }
}

let server: EmbeddedServer | undefined;
let dataDir: string | undefined;
let runTmp: string | undefined;
const templates: ScratchDatabase[] = [];

const quiet = {
  debug: () => {},
  info: () => {},
  warn: (obj: object, msg: string) => console.warn(`[embedded test server] ${msg}`, obj),
  error: (obj: object, msg: string) => console.error(`[embedded test server] ${msg}`, obj),
};

export async function setup(project: TestProject): Promise<void> {
  dataDir = mkdtempSync(join(tmpdir(), 'task-api-suite-'));
  // The test workers are forked after this and inherit it: os.tmpdir() is this folder there (and
  // in the servers, clusters and browsers they start). 0711, as /tmp is for the postgres OS user.
  runTmp = mkdtempSync(join(tmpdir(), 'task-api-test-run-'));
  chmodSync(runTmp, 0o711);
  process.env.TMPDIR = runTmp;
  server = await startEmbedded({
    dataDir,
    osUser: 'postgres',
    maxConnections: 400,
    log: quiet,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  const embeddedTemplate = await makeTemplate(server.url);
  templates.push(embeddedTemplate);
  const external = process.env.TEST_DATABASE_URL || undefined;
  const externalTemplate = external === undefined ? undefined : await makeTemplate(external);
  if (externalTemplate) templates.push(externalTemplate);
  project.provide('embeddedUrl', server.url);
  project.provide('embeddedTemplate', embeddedTemplate.name);
  project.provide('externalTemplate', externalTemplate?.name);
}

export async function teardown(): Promise<void> {
  for (const t of templates.splice(0)) await t.drop().catch(() => {});
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  try {
    if (runTmp) rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    console.warn(`the run's temp folder ${runTmp} was not removed: ${(err as Error).message}`);
  }
}
