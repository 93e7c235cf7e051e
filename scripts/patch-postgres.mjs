#!/usr/bin/env node
// Patches postgres.js's connection queue (node_modules/postgres/{src,cjs/src,cf/src}/queue.js),
// run by `npm install` / `npm ci` (postinstall). Plain JavaScript: it runs before anything is built.
//
// Why: in postgres.js 3.4.9 (the latest) the pool's queues are arrays whose `shift()` leaves a hole
// and only starts over once the queue is empty. The queue of idle connections is never empty
// under steady load, so its array grows by one slot per query; and every query moves its
// connection out of that queue with `remove()`, an `indexOf` from slot 0 over all those holes.
// Measured in this API (`npm run bench -- --scenarios list-304 --profile`): the array reached
// 89,000 slots in 8 s, each remove scanned 57,000 of them on average, and `remove` was 21-26 % of
// the server's CPU; a server left running slows down until the queue happens to drain (the "speed
// dropped" of porsager/postgres#747). The patch searches from the head and compacts the array as
// the head moves on: the same queue, O(1) amortized, bounded.
//
// Only the exact files of the known versions are replaced (checked by hash); anything else is left
// as it is, with a note. `node scripts/patch-postgres.mjs --check` exits 1 when a file is unpatched.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = 'task-api patch: scripts/patch-postgres.mjs';

/** The queue.js files of postgres 3.4.x as published, by SHA-256. */
const ORIGINAL = new Set([
  '15e6345adb6708bf3b99ad39fc2231c2fb61de5f6cba4b7a7a6be881482a4ec3', // src/, cf/src/ (ESM)
  '7d20fa53a3930be070609d7912ecd14c347df3526805bca2f6cb7eb35d2e62cf', // cjs/src/
]);

const body = `
// ${MARKER}. The original searched remove() from slot 0 and kept every
// shifted-out slot until the queue was empty: under steady load, an array growing by one slot per
// query and a full scan per query. Here remove() searches from the head, and shift() compacts the
// array once the head has passed half of it.

function Queue(initial = []) {
  let xs = initial.slice()
  let index = 0

  return {
    get length() {
      return xs.length - index
    },
    // Slots the array holds, live or already shifted out (bounded: see shift).
    get capacity() {
      return xs.length
    },
    remove: (x) => {
      const at = xs.indexOf(x, index)
      return at === -1
        ? null
        : (xs.splice(at, 1), x)
    },
    push: (x) => (xs.push(x), x),
    shift: () => {
      const out = xs[index++]

      if (index === xs.length) {
        index = 0
        xs = []
      } else if (index >= 64 && index * 2 >= xs.length) {
        xs = xs.slice(index)
        index = 0
      } else {
        xs[index - 1] = undefined
      }

      return out
    }
  }
}
`;

const files = [
  { path: 'node_modules/postgres/src/queue.js', module: 'esm' },
  { path: 'node_modules/postgres/cf/src/queue.js', module: 'esm' },
  { path: 'node_modules/postgres/cjs/src/queue.js', module: 'cjs' },
];

const check = process.argv.includes('--check');
let unpatched = 0;
for (const { path, module } of files) {
  const file = join(root, path);
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  if (text.includes(MARKER)) continue;
  const hash = createHash('sha256').update(text).digest('hex');
  if (check || !ORIGINAL.has(hash)) {
    unpatched++;
    if (!check) process.stderr.write(`patch-postgres: ${path} is not the known postgres.js 3.4 file (sha256 ${hash.slice(0, 12)}): left as it is\n`);
    continue;
  }
  writeFileSync(file, (module === 'esm' ? 'export default Queue\n' : 'module.exports = Queue\n') + body);
}
if (check && unpatched > 0) {
  process.stderr.write(`patch-postgres: ${unpatched} queue.js file(s) of postgres.js not patched: run node scripts/patch-postgres.mjs\n`);
  process.exit(1);
}
