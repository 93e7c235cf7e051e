/**
 * The task's fields are declared once (src/tasks/tasks.schemas.ts). This test reads that
 * declaration, not a list of its own: every field the create schema names must reach the database
 * through POST, and every field the update schema names through PUT, read back with SQL, not
 * through the API. A field added to the schema (with an example value) is covered without
 * editing this file; one that the repository or the table does not carry fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANGEABLE, CREATABLE, CREATE_DEFAULTS, TaskCreateSchema, TaskSchema, TaskUpdateSchema } from '../../src/tasks/tasks.schemas.js';
import { drivers } from '../helpers/databases.js';
import { api, loose } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

type Props = Record<string, { examples?: unknown[] }>;

/** The schema's own example values for a field, as the API would send them back. */
function examples(props: Props, field: string): unknown[] {
  const values = props[field]?.examples ?? [];
  expect(values.length, `${field} needs example values in tasks.schemas.ts`).toBeGreaterThan(0);
  return values;
}

/** A stored value as JSON would show it (timestamps as ISO strings). */
const asJson = (v: unknown) => (v instanceof Date ? v.toISOString() : v);

/** What a field needs beside it to be accepted: a recurrence needs a due_at (API.md, Recurrence). */
const NEEDS: Record<string, Record<string, unknown>> = { recurrence: { due_at: '2026-12-07T09:00:00.000Z' }, reminders: { due_at: '2026-12-07T09:00:00.000Z' } };

describe.each(drivers)('the field list reaches the database [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  async function stored(id: number): Promise<Record<string, unknown>> {
    const rows = await t.database.sql<Record<string, unknown>[]>`select * from tasks where id = ${id}`;
    expect(rows).toHaveLength(1);
    return rows[0] as Record<string, unknown>;
  }

  it('the table has a column for every field of the task', async () => {
    const user = uniqueUser();
    const res = await (await api(t.app, user)).create({ title: 'x' });
    const columns = Object.keys(await stored(res.json().data.id));
    expect(columns).toEqual(expect.arrayContaining(Object.keys(TaskSchema.properties)));
  });

  it.each(CREATABLE)('POST writes %s, and its default when it is left out', async (field) => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const value = examples(TaskCreateSchema.properties as Props, field)[0];
    const body = { title: 'A task', ...NEEDS[field], [field]: value };
    const res = await as.create(loose(body));
    expect(res.statusCode, res.body).toBe(201);
    expect(asJson((await stored(res.json().data.id))[field])).toEqual(value);
    expect(res.json().data[field]).toEqual(value);

    if (field in CREATE_DEFAULTS) {
      const bare = await as.create({ title: 'Another' });
      expect(asJson((await stored(bare.json().data.id))[field])).toEqual((CREATE_DEFAULTS as Record<string, unknown>)[field]);
    }
  });

  it.each(CHANGEABLE)('PUT writes %s and leaves the other fields as they were', async (field) => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const created = await as.create(loose({ title: 'Before', ...NEEDS[field] }));
    const before = await stored(created.json().data.id);
    const value = examples(TaskUpdateSchema.properties as Props, field).find((v) => JSON.stringify(v) !== JSON.stringify(asJson(before[field])));
    expect(value, `${field} needs an example that differs from a new task's value`).toBeDefined();
    const res = await as.put(created.json().data.id, loose({ [field]: value }));
    expect(res.statusCode, res.body).toBe(200);
    const after = await stored(created.json().data.id);
    expect(asJson(after[field])).toEqual(value);
    for (const other of CHANGEABLE.filter((f) => f !== field)) expect(asJson(after[other])).toEqual(asJson(before[other]));
  });
});
