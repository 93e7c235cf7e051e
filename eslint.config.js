import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The rooms of docs/ARCHITECTURE.md, in the table's order, with its "may import" column: the one place
// they are written as rules. A room is [name, its files, what it may import]; adding a room is one entry.
// In the column, a name allows every file of that room, `name (types)` its types only (`import type`),
// `name/file` that one file of it, `below` every room after this one. A room always imports itself.
// Every file under src/ must be in a room (boundaries/no-unknown-files).
const ROOMS = [
  ['cli', 'src/cli/**', ['config']],
  ['server', 'src/server.ts', ['below']],
  ['app', 'src/app.ts', ['below']],
  // The job process's entry (forked by background, not imported).
  ['jobs-main', 'src/jobs-main.ts', ['background', 'db', 'jobs', 'lib', 'config']],
  // The jobs' handlers put together, and where they run: this process, or the job process.
  ['background', 'src/background.ts', ['reminders', 'push', 'webhooks', 'jobs', 'sync (types)', 'db', 'config']],
  // Reminders fire to the streams (sync), Web Push (push) and webhooks (recorded by the database).
  ['reminders', 'src/reminders/**', ['push', 'sync', 'jobs', 'db', 'errors']],
  ['api', 'src/api.ts', ['trash', 'webhooks', 'calendar', 'tasks', 'lists', 'tags', 'push', 'sync', 'writes', 'access', 'auth', 'lib', 'db', 'errors', 'config (types)']],
  // The trash reads and writes tasks' rows (their schema, their feed kind): a room above tasks.
  ['trash', 'src/trash/**', ['tasks', 'writes', 'feed', 'access', 'http', 'lib', 'db', 'errors']],
  ['webhooks', 'src/webhooks/**', ['jobs', 'writes', 'access', 'http', 'lib', 'db', 'errors']],
  ['calendar', 'src/calendar/**', ['writes', 'access', 'http', 'lib', 'db', 'errors']],
  ['tasks', 'src/tasks/**', ['writes', 'feed', 'access', 'http', 'lib', 'db', 'errors']],
  ['lists', 'src/lists/**', ['writes', 'feed', 'access', 'http', 'lib', 'db', 'errors']],
  ['tags', 'src/tags/**', ['access', 'http', 'lib', 'db', 'errors']],
  ['push', 'src/push/**', ['jobs', 'writes', 'http', 'lib', 'db', 'errors', 'config (types)']],
  ['sync', 'src/sync/**', ['writes', 'feed', 'http', 'lib', 'db', 'errors', 'config (types)']],
  ['writes', 'src/writes/**', ['http', 'lib', 'db', 'errors']],
  ['feed', 'src/feed/**', []],
  ['jobs', 'src/jobs/**', ['db']],
  ['access', 'src/access/**', ['db', 'errors']],
  ['health', 'src/health/**', ['http', 'errors']],
  ['http', 'src/http/**', ['errors']],
  ['plugins', 'src/plugins/**', ['http', 'lib', 'db/errors', 'errors']],
  ['auth', 'src/auth/**', ['lib', 'errors', 'config (types)']],
  ['db', 'src/db/**', ['lib', 'config (types)']],
  ['lib', 'src/lib/**', ['config (types)']],
  ['config', 'src/config.ts', []],
  ['errors', 'src/errors.ts', []],
];

// Today's imports against the table, one [importing file, imported file] a line. Each goes when the
// restructuring of issue 21 removes it (sync/ stops reading the task schema; the write pipeline leaves
// sync/ for a room of its own); delete its line then. Never add one: change the table instead.
const EXCEPTIONS = [];

// One block a room, so that an import is checked against its own room's column only.
const roomBlocks = ROOMS.map(([name, files, mayImport], index) => {
  const column = mayImport.flatMap((entry) => (entry === 'below' ? ROOMS.slice(index + 1).map(([below]) => below) : [entry]));
  const allow = [name, ...column].map((entry) => {
    const [, room, file, types] = /^([\w-]+)(?:\/([\w.-]+))?( \(types\))?$/.exec(entry) ?? [];
    const target = ROOMS.find(([other]) => other === room);
    if (!target) throw new Error(`eslint.config.js: "${entry}" in what ${name} may import is not a room`);
    return {
      to: { file: { categories: room, ...(file && { path: `**/${target[1].replace('/**', '')}/${file}.ts` }) } },
      ...(types && { dependency: { kind: 'type' } }),
    };
  });
  const exceptions = EXCEPTIONS.filter(([from]) => from === files || from.startsWith(files.replace('**', '')))
    .map(([from, to]) => ({ from: { file: { path: `**/${from}` } }, allow: { to: { file: { path: `**/${to}` } } } }));
  return {
    files: [files],
    rules: {
      'boundaries/dependencies': ['error', {
        default: 'disallow',
        checkUnknownLocals: true,
        message: `room ${name} may not import {{#if to.file.categories}}room {{to.file.categories}}{{else}}a file outside the rooms{{/if}} ({{dependency.kind}} import of '{{dependency.source}}'): it may import ${column.join(', ') || 'nothing'} (ROOMS in eslint.config.js, docs/ARCHITECTURE.md)`,
        policies: [{ allow }, ...exceptions],
      }],
    },
  };
});

export default tseslint.config(
  // examples/ is its own project (its own package.json and lint); packages build into their own dist/.
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'test-artifacts/', '.data/', 'bench/results/', 'examples/', 'packages/*/dist/', 'packages/*/node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The environment is read in one place: src/config.ts. Everything else gets a Config.
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration in src/config.ts' }],
    },
  },
  {
    // The rooms. Only src/ is checked: test/, bench/ and scripts/ are outside the rooms and may import any
    // of them (they prove a room through its surface, and sometimes reach inside); no room may import them,
    // nor any file of src/ outside the table (an unknown local import fails like a forbidden one).
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/files': ROOMS.map(([name, pattern]) => ({ category: name, pattern })),
      'boundaries/legacy-templates': false,
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
      'import/resolver': { typescript: { project: 'tsconfig.json' } },
    },
    rules: { 'boundaries/no-unknown-files': 'error' },
  },
  ...roomBlocks,
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'packages/*/scripts/**', 'packages/*/test/**'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: { 'no-console': 'off' },
  },
);
