/**
 * DATABASE_URL naming a database that does not exist, through the built server, on each server
 * the suite runs on: in development the service creates it (it has the right) and says so; in
 * production it says the exact command; a user without the right is told who can. A host name
 * that does not resolve fails at once.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeUrl } from '../../src/db/client.js';
import { createdbCommand } from '../../src/db/open.js';
import { drivers, serverUrl } from '../helpers/databases.js';
import { cleanEnv, runNode, scratchDir, SERVER_JS, startServer } from '../helpers/process.js';
import { connect, databaseUrl } from '../helpers/scratch.js';
import { signToken } from '../helpers/tokens.js';
import { api } from '../helpers/api.js';

const SECRET = 'missing-db-secret-missing-db-secret-0123';
const randomName = () => `task_api_missing_${randomBytes(5).toString('hex')}`;

async function dropDatabase(base: string, name: string): Promise<void> {
  const sql = connect(base);
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe.each(drivers)('a database that does not exist [%s]', (driver) => {
  it('in development: the service creates it, says so, migrates it and serves', async () => {
    const base = serverUrl(driver);
    const name = randomName();
    const url = databaseUrl(base, name);
    const server = await startServer(scratchDir('task-api-createdb-'), cleanEnv({ DATABASE_URL: url, BETTER_AUTH_SECRET: SECRET }));
    try {
      const where = describeUrl(url);
      expect(server.logLines().find((l) => l.level === 40 && l.database === where)?.msg).toBe(
        `database "${name}" did not exist at ${where}: created it (NODE_ENV=development; elsewhere the service only says how)`,
      );
      const alice = await api(server.url, 'alice', { token: await signToken('alice', { secret: SECRET }) });
      const created = await alice.create({ title: 'in a new database' });
      expect(created.statusCode).toBe(201);
    } finally {
      await server.stop('SIGTERM');
      await dropDatabase(base, name);
    }
  });

  it('in production: nothing is created; one line says the exact command', async () => {
    const url = databaseUrl(serverUrl(driver), randomName());
    const res = await runNode(SERVER_JS, [], scratchDir('task-api-createdb-'), cleanEnv({ NODE_ENV: 'production', DATABASE_URL: url, BETTER_AUTH_SECRET: SECRET }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Failed to start: database at ${describeUrl(url)} does not exist; the user postgres may create it:  ${createdbCommand(url)}  ` +
        '(with NODE_ENV=development the service creates it itself), or fix DATABASE_URL\n',
    );
    const u = new URL(url);
    const host = u.searchParams.get('host') ?? u.hostname;
    expect(createdbCommand(url)).toBe(`createdb -h ${host} -p ${u.port || '5432'} -U postgres ${u.pathname.slice(1)}`);
  });

  it('a user who may not create databases is told who can, with the command', async () => {
    const base = serverUrl(driver);
    const role = `task_api_nocreate_${randomBytes(4).toString('hex')}`;
    const admin = connect(base);
    await admin.unsafe(`create role ${role} login nocreatedb`);
    try {
      const u = new URL(databaseUrl(base, randomName()));
      u.username = role;
      const url = u.toString();
      const res = await runNode(SERVER_JS, [], scratchDir('task-api-createdb-'), cleanEnv({ DATABASE_URL: url, BETTER_AUTH_SECRET: SECRET }));
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `Failed to start: database at ${describeUrl(url)} does not exist, and the user ${role} may not create databases: an administrator can, ` +
          `with  ${createdbCommand(url, { admin: 'postgres', owner: role })}  or fix DATABASE_URL\n`,
      );
      expect(createdbCommand(url, { admin: 'postgres', owner: role })).toMatch(new RegExp(`-U postgres -O ${role} task_api_missing_`));
    } finally {
      await admin.unsafe(`drop role if exists ${role}`);
      await admin.end({ timeout: 5 });
    }
  });
});

describe('database URLs that cannot work', () => {
  it('a host name that does not resolve fails at once (no retries), with one line', async () => {
    const res = await runNode(SERVER_JS, [], scratchDir('task-api-nohost-'), cleanEnv({ DATABASE_URL: 'postgresql://postgres@no-such-host.invalid:5432/tasks', BETTER_AUTH_SECRET: SECRET }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('Failed to start: database host not found: no-such-host.invalid:5432/tasks does not resolve; check the host name in DATABASE_URL\n');
    expect(res.stdout).not.toContain('retrying');
    expect(res.ms).toBeLessThan(5000);
  });

  it('the createdb command keeps sslmode, quotes odd names and never carries the password', () => {
    expect(createdbCommand('postgresql://u:secret@ep-x.neon.tech/neon%20db?sslmode=require')).toBe("PGSSLMODE=require createdb -h ep-x.neon.tech -p 5432 -U u 'neon db'");
  });
});
