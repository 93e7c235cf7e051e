/**
 * Scratch databases on a PostgreSQL server, for the tests, the bench and the soak (no Vitest in
 * here): created with a random name, dropped by whoever made them.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDatabase, describeUrl } from '../../src/db/client.js';
import { driverArgs } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { installJobQueue } from '../../src/jobs/runner.js';

/** The URL of database `name` on the server of `base` (a socket URL keeps its `?host=`). */
export function databaseUrl(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** One quiet connection to the server of `url` (socket URLs too). */
export function connect(url: string) {
  return postgres(...driverArgs(url, { max: 1, onnotice: () => {}, connect_timeout: 10 }));
}

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A new database with a random name on the server of `base`: empty, or a copy of `template`. */
export async function scratchDatabase(base: string, options: { prefix?: string; template?: string } = {}): Promise<ScratchDatabase> {
  const name = `${options.prefix ?? 'task_api_test'}_${randomBytes(6).toString('hex')}`;
  const sql = connect(base);
  try {
    await sql.unsafe(`create database ${name}${options.template ? ` template ${options.template}` : ''}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return {
    name,
    url: databaseUrl(base, name),
    async drop() {
      const a = connect(base);
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** A database with every migration applied and the job queue's schema, to copy from (CREATE DATABASE ... TEMPLATE). */
export async function makeTemplate(base: string): Promise<ScratchDatabase> {
  const template = await scratchDatabase(base, { prefix: 'task_api_template' });
  const database = createDatabase({ url: template.url, kind: 'external', where: describeUrl(template.url), prepare: true, poolMax: 1, timeoutMs: 10_000 });
  try {
    await migrate(database.db);
    await installJobQueue({ url: template.url, prepared: true }, silent);
  } finally {
    await database.close();
  }
  return template;
}
