/**
 * `npm start`, `npm run token`, `npm test` compile only when a source changed
 * (scripts/build-if-stale.mjs), and `npm run dev` restarts the server on a change. The freshness
 * check runs on a small project of its own in a scratch folder (so the suite never rebuilds the
 * dist/ that other tests run), with the real script and the real tsc.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanEnv, freePort, ROOT, run, scratchDir, sleep, spawnProcess } from '../helpers/process.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

function miniProject(): string {
  const dir = scratchDir('task-api-build-');
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(ROOT, 'scripts/build-if-stale.mjs'), join(dir, 'scripts/build-if-stale.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{"name":"mini","private":true,"type":"module"}\n');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', outDir: 'dist', rootDir: '.', strict: true, types: [] } }));
  writeFileSync(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo' }, include: ['src'] }),
  );
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  writeFileSync(join(dir, 'src/server.ts'), "export const answer: number = 41;\n");
  writeFileSync(join(dir, 'src/cli/token.ts'), "export const cli: string = 'token';\n");
  return dir;
}

const check = (dir: string, ...args: string[]) => run(process.execPath, [join(dir, 'scripts/build-if-stale.mjs'), ...args], { cwd: dir, env: cleanEnv(), timeoutMs: 60_000 });

describe('build only when stale', () => {
  it('the npm scripts start from the freshness check, not from tsc', () => {
    for (const name of ['start', 'token', 'bench', 'soak']) expect(pkg.scripts[name], name).toMatch(/^node scripts\/build-if-stale\.mjs && node dist\//);
    expect(pkg.scripts.pretest).toBe('node scripts/build-if-stale.mjs');
    expect(pkg.scripts.build).toBe('node scripts/build-if-stale.mjs --force');
    expect(pkg.scripts['start:prod']).toBe('node dist/src/server.js');
    expect(pkg.scripts.prestart).toBeUndefined();
  });

  it('compiles once, then starts at once until a source changes (content, not time)', async () => {
    const dir = miniProject();
    expect((await check(dir, '--check')).code).toBe(1);
    const first = await check(dir);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: 'compiling TypeScript (dist/src/server.js is missing)...\n' });
    expect(readFileSync(join(dir, 'dist/src/server.js'), 'utf8')).toContain('41');

    const fresh = await check(dir);
    expect({ code: fresh.code, stdout: fresh.stdout, stderr: fresh.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(fresh.ms).toBeLessThan(1000);
    expect((await check(dir, '--check')).code).toBe(0);

    writeFileSync(join(dir, 'src/server.ts'), 'export const answer: number = 42;\n');
    const edited = await check(dir);
    expect(edited.stderr).toBe('compiling TypeScript (sources changed since the last build)...\n');
    expect(readFileSync(join(dir, 'dist/src/server.js'), 'utf8')).toContain('42');

    expect((await check(dir)).stderr).toBe('');
    // An added file is a change, and removing it again restores the state that was compiled.
    writeFileSync(join(dir, 'src/extra.ts'), 'export {};\n');
    expect((await check(dir, '--check')).stderr).toBe('dist/ is stale: sources changed since the last build\n');
    rmSync(join(dir, 'src/extra.ts'));
    expect((await check(dir, '--check')).code).toBe(0);
    rmSync(join(dir, 'dist/src/cli/token.js'));
    expect((await check(dir, '--check')).stderr).toBe('dist/ is stale: dist/src/cli/token.js is missing\n');
  });

  it("what npm writes into package-lock.json besides versions and hashes does not make dist/ stale; a version does", async () => {
    const dir = miniProject();
    const lock = (extra: object, version = '1.2.3') =>
      JSON.stringify({ name: 'mini', lockfileVersion: 3, packages: { '': { name: 'mini', ...extra }, 'node_modules/x': { version, integrity: 'sha512-x' } } }, null, 2);
    writeFileSync(join(dir, 'package-lock.json'), lock({}));
    expect((await check(dir)).code).toBe(0);
    // What `npm install` wrote into the lock while the project had a postinstall script.
    writeFileSync(join(dir, 'package-lock.json'), lock({ hasInstallScript: true }));
    expect((await check(dir, '--check')).code).toBe(0);
    writeFileSync(join(dir, 'package-lock.json'), lock({ hasInstallScript: true }, '1.2.4'));
    expect((await check(dir, '--check')).stderr).toBe('dist/ is stale: sources changed since the last build\n');
  });

  it("npm run build checks the types: a type error stops it with tsc's message and leaves dist/ stale", async () => {
    const dir = miniProject();
    writeFileSync(join(dir, 'src/server.ts'), 'export const answer: number = "forty-two";\n');
    const r = await check(dir, '--force');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("error TS2322: Type 'string' is not assignable to type 'number'.");
    expect(existsSync(join(dir, 'dist/.build-inputs'))).toBe(false);
  });

  it('the build of npm start compiles without a type check (esbuild), and a syntax error stops it and leaves dist/ stale', async () => {
    const dir = miniProject();
    writeFileSync(join(dir, 'src/server.ts'), 'export const answer: number = "forty-two";\n');
    const typed = await check(dir);
    expect({ code: typed.code, stderr: typed.stderr }).toEqual({ code: 0, stderr: 'compiling TypeScript (dist/src/server.js is missing)...\n' });
    expect(readFileSync(join(dir, 'dist/src/server.js'), 'utf8')).toBe('const answer = "forty-two";\nexport {\n  answer\n};\n//# sourceMappingURL=server.js.map\n');
    expect(existsSync(join(dir, 'dist/src/server.js.map'))).toBe(true);

    writeFileSync(join(dir, 'src/server.ts'), 'export const answer: number = ;\n');
    const broken = await check(dir);
    expect(broken.code).toBe(1);
    const plain = stripVTControlCharacters(broken.stderr); // esbuild colours its message where asked to
    expect(plain).toContain('[ERROR] Unexpected ";"');
    expect(plain).toContain('src/server.ts:1:30:');
    expect((await check(dir, '--check')).stderr).toBe('dist/ is stale: sources changed since the last build\n');
  });
});

describe('npm run dev', () => {
  it('runs the server from the sources and restarts it on a change (the embedded database goes along)', async () => {
    const cwd = scratchDir('task-api-dev-');
    const trigger = join(cwd, 'trigger.ts');
    writeFileSync(trigger, 'export {};\n');
    const [bin, ...args] = pkg.scripts.dev!.split(' ');
    expect(bin).toBe('tsx');
    // The dev script as written, watching one more file: a change of it stands for a change of src/.
    const watchArgs = args.map((a) => (a === 'src/server.ts' ? join(ROOT, a) : a));
    const proc = spawnProcess({
      command: [join(ROOT, 'node_modules/.bin/tsx'), watchArgs[0]!, '--include', trigger, ...watchArgs.slice(1)],
      cwd,
      env: cleanEnv({ PORT: String(await freePort()), LOG_FORMAT: 'json' }),
      detached: true,
    });
    const readyCount = () => proc.stdout().split('task API ready').length - 1;
    const waitFor = async (n: number) => {
      const started = Date.now();
      while (readyCount() < n && !proc.hasExited && Date.now() - started < 40_000) await sleep(50);
      expect(readyCount(), proc.output()).toBe(n);
    };
    try {
      await waitFor(1);
      writeFileSync(trigger, 'export const changed = true;\n');
      await waitFor(2);
      const lines = proc.logLines().map((l) => l.msg);
      expect(lines.filter((m) => m === 'shutting down: finishing in-flight requests')).toHaveLength(1);
      expect(proc.output()).not.toMatch(/Another task API service|Failed to start/);
    } finally {
      await proc.stop('SIGTERM');
    }
  }, 60_000);
});
