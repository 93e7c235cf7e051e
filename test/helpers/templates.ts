import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDatabase, describeUrl } from '../../src/db/client.js';
import { driverArgs } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';

/** The URL of database `name` on the server of `base`. */
export function databaseUrl(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** An admin connection to the server of `base` (one connection, quiet). */
export function admin(base: string) {
  return postgres(...driverArgs(base, { max: 1, onnotice: () => {} }));
}

/** Creates an empty database with a random name; resolves its name. */
export async function createScratch(base: string, prefix = 'task_api_test', template?: string): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const sql = admin(base);
  try {
    await sql.unsafe(`create database ${name}${template ? ` template ${template}` : ''}`);
  } finally {
    await sql.end();
  }
  return name;
}

export async function dropDatabase(base: string, name: string): Promise<void> {
  const sql = admin(base);
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await sql.end();
  }
}

/** A database with every migration applied, to copy from: CREATE DATABASE ... TEMPLATE. */
export async function makeTemplate(base: string): Promise<string> {
  const name = await createScratch(base, 'task_api_template');
  const url = databaseUrl(base, name);
  const database = createDatabase({ url, kind: 'external', where: describeUrl(url), prepare: true, poolMax: 1, timeoutMs: 10_000 });
  try {
    await migrate(database.db);
  } finally {
    await database.close();
  }
  return name;
}

export const dropTemplate = dropDatabase;
