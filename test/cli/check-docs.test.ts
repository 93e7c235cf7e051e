import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run, scratchDir } from '../helpers/process.js';

const CHECK = join(ROOT, 'scripts/check-docs.mjs');

describe('scripts/check-docs.mjs', () => {
  it("finds every relative link, anchor and npm script of the project's documentation", async () => {
    const result = await run(process.execPath, [CHECK], { cwd: ROOT });
    expect({ code: result.code, stderr: result.stderr }, result.stdout).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^documentation: \d+ files, every relative link, anchor and npm script resolves\n$/);
  });

  it('names each broken link, anchor and script, with its file and line', async () => {
    const dir = scratchDir('task-api-docs-');
    mkdirSync(join(dir, 'docs'));
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'x', token: 'x' } }));
    writeFileSync(join(dir, 'app', 'package.json'), JSON.stringify({ scripts: { dev: 'x' } }));
    writeFileSync(
      join(dir, 'README.md'),
      [
        '# Title',
        '[fine](docs/GUIDE.md#the-env-file-and-data_dir), [here](#title), [site](https://example.com/x), [folder](app)',
        '[gone](docs/GONE.md) and [no heading](docs/GUIDE.md#nothing-here)',
        '`npm start`, `npm run --silent token -- alice`, then `npm run nope` and `npm test`',
        '```bash',
        'cd app && npm run dev   # in app/',
        'npm run token           # still in app/, which has no such script',
        '```',
        '```bash',
        'npm run token           # a new block starts in the project folder',
        '```',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'docs', 'GUIDE.md'), '# Guide\n\n## The `.env` file and DATA_DIR\n\nBack to [the start](../README.md#title).\n');
    const result = await run(process.execPath, [CHECK, dir], { cwd: dir });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: '' });
    expect(result.stdout).toBe(
      [
        'README.md:3: docs/GONE.md: docs/GONE.md does not exist',
        'README.md:3: docs/GUIDE.md#nothing-here: docs/GUIDE.md has no heading #nothing-here',
        'README.md:4: npm run nope: no such script in package.json',
        'README.md:4: npm run test: no such script in package.json',
        'README.md:7: npm run token: no such script in app/package.json',
        '5 problem(s) in the documentation',
        '',
      ].join('\n'),
    );
  });
});
