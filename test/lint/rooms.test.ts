import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';

// The rooms of docs/ARCHITECTURE.md are a lint rule (eslint.config.js): these lint small files that
// exist only in memory, placed in a room by their path, with the project's own configuration.
const eslint = new ESLint({ cwd: ROOT });

async function problems(filePath: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return result!.messages.map(({ ruleId, message }) => ({ ruleId, message }));
}

describe('the rooms (eslint.config.js)', () => {
  it('fails an import up the table: http may import only errors, not a resource above it', async () => {
    expect(await problems('src/http/probe.ts', "import { TaskSchema } from '../tasks/tasks.schemas.js';\nexport const schema = TaskSchema;\n")).toEqual([{
      ruleId: 'boundaries/dependencies',
      message: "room http may not import room tasks (value import of '../tasks/tasks.schemas.js'): it may import errors (ROOMS in eslint.config.js, docs/ARCHITECTURE.md)",
    }]);
  });

  it('fails an import sideways from one resource to another, as an export and a dynamic import too', async () => {
    const message = (source: string) => `room tags may not import room tasks (value import of '${source}'): it may import access, http, lib, db, errors (ROOMS in eslint.config.js, docs/ARCHITECTURE.md)`;
    expect(await problems('src/tags/probe.ts', "export { TaskSchema } from '../tasks/tasks.schemas.js';\nexport const routes = await import('../tasks/tasks.routes.js');\n")).toEqual([
      { ruleId: 'boundaries/dependencies', message: message('../tasks/tasks.schemas.js') },
      { ruleId: 'boundaries/dependencies', message: message('../tasks/tasks.routes.js') },
    ]);
  });

  it('passes an import down the table that the column names, and one inside the same room', async () => {
    expect(await problems('src/tags/probe.ts', "import { Envelope } from '../http/envelope.js';\nimport { TagCountSchema } from './tags.schemas.js';\nexport const page = Envelope(TagCountSchema, 'probe');\n")).toEqual([]);
  });

  it('"config (types)" allows `import type` only', async () => {
    expect(await problems('src/lib/probe.ts', "import type { Config } from '../config.js';\nexport type Probe = Config;\n")).toEqual([]);
    expect(await problems('src/lib/probe.ts', "import { loadConfig } from '../config.js';\nexport const load = loadConfig;\n")).toEqual([{
      ruleId: 'boundaries/dependencies',
      message: "room lib may not import room config (value import of '../config.js'): it may import config (types) (ROOMS in eslint.config.js, docs/ARCHITECTURE.md)",
    }]);
  });

  it('fails a file of src/ outside every room, and a room importing what is outside the rooms (tests)', async () => {
    expect(await problems('src/widgets/probe.ts', 'export const widget = 1;\n')).toEqual([{
      ruleId: 'boundaries/no-unknown-files',
      message: 'File does not match any file pattern and does not belong to any known element',
    }]);
    expect(await problems('src/http/probe.ts', "import { buildTestApp } from '../../test/helpers/app.js';\nexport const build = buildTestApp;\n")).toEqual([{
      ruleId: 'boundaries/dependencies',
      message: "room http may not import a file outside the rooms (value import of '../../test/helpers/app.js'): it may import errors (ROOMS in eslint.config.js, docs/ARCHITECTURE.md)",
    }]);
  });

  it('leaves tests outside the rooms: they may import any room', async () => {
    expect(await problems('test/probe.ts', "import { TaskSchema } from '../src/tasks/tasks.schemas.js';\nexport const schema = TaskSchema;\n")).toEqual([]);
  });

  it('every exception in the configuration is an import the code still has (delete the line when it goes; there are none today)', async () => {
    const exceptions = new Set<string>();
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    for (const file of files) {
      const config = await eslint.calculateConfigForFile(join(ROOT, 'src', file));
      const policies = (config.rules['boundaries/dependencies']?.[1]?.policies ?? []) as { from?: { file: { path: string } }; allow: { to: { file: { path: string } } } }[];
      for (const policy of policies) if (policy.from) exceptions.add(`${policy.from.file.path} -> ${policy.allow.to.file.path}`.replaceAll('**/', ''));
    }
    const imports = new Set<string>();
    for (const file of files) {
      const from = join('src', file);
      for (const [, source] of readFileSync(join(ROOT, from), 'utf8').matchAll(/from '(\.[^']+)\.js'/g)) {
        imports.add(`${from} -> ${relative(ROOT, join(ROOT, dirname(from), `${source}.ts`))}`);
      }
    }
    expect([...exceptions].filter((pair) => !imports.has(pair))).toEqual([]);
  });
});
