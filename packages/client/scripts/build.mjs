#!/usr/bin/env node
// dist/ from src/: tsc (ESM + .d.ts), plus the generated schema.d.ts, which tsc does not copy.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${root}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${root}/tsconfig.json`], { stdio: 'inherit' });
copyFileSync(`${root}/src/schema.d.ts`, `${root}/dist/schema.d.ts`);
console.log('built dist/');
