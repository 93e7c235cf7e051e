// The README's minute tour against a running container, each answer checked for its exact status
// and fields; called by .ci/container. Plain JavaScript on the machine's Node (no build).
//
//   node .ci/container-tour.mjs <base url> <token> tour          create, list, toggle; prints the task's id
//   node .ci/container-tour.mjs <base url> <token> check <id>    the task is there, completed, version 2
import assert from 'node:assert/strict';

const [base, token, mode, id] = process.argv.slice(2);
if (base === undefined || token === undefined || !['tour', 'check'].includes(mode ?? '')) {
  process.stderr.write('usage: node .ci/container-tour.mjs <base url> <token> tour | check <id>\n');
  process.exit(2);
}
const api = `${base}/api/alice`;
const auth = { Authorization: `Bearer ${token}` };

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? auth : { ...auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text === '' ? undefined : JSON.parse(text);
  process.stdout.write(`${method} ${url.slice(base.length)} -> ${res.status}\n`);
  return { status: res.status, json, headers: res.headers };
}

if (mode === 'tour') {
  const health = await call('GET', `${base}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(health.json, { status: 'healthy' });

  const created = await call('POST', `${api}/tasks`, { title: 'Buy milk', description: '2 litres' });
  assert.equal(created.status, 201);
  assert.equal(created.json.message, 'Task created successfully');
  const task = created.json.data;
  assert.equal(task.user_id, 'alice');
  assert.equal(task.title, 'Buy milk');
  assert.equal(task.description, '2 litres');
  assert.equal(task.completed, false);
  assert.equal(task.version, 1);

  const list = await call('GET', `${api}/tasks`);
  assert.equal(list.status, 200);
  assert.equal(list.json.message, 'Tasks retrieved successfully');
  assert.deepEqual(list.json.data.map((t) => [t.id, t.title]), [[task.id, 'Buy milk']]);

  const toggled = await call('PATCH', `${api}/tasks/${task.id}/complete`);
  assert.equal(toggled.status, 200);
  assert.equal(toggled.json.message, 'Task marked as completed');
  assert.equal(toggled.json.data.completed, true);
  assert.equal(toggled.json.data.version, 2);

  const other = await call('GET', `${base}/api/bob/tasks`);
  assert.equal(other.status, 403);
  assert.equal(other.json.code, 'FORBIDDEN');

  process.stdout.write(`task ${task.id}\n`);
} else {
  const got = await call('GET', `${api}/tasks/${id}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.data.title, 'Buy milk');
  assert.equal(got.json.data.completed, true);
  assert.equal(got.json.data.version, 2);
  assert.equal(got.headers.get('etag'), '"2"');
}
