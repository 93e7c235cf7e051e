#!/usr/bin/env node
// CI: start the API of this repository (its dist/, built with `npm run build` at the root; or
// TASK_API_DIR) on a free port, and fail if src/schema.d.ts differs from what its live
// /openapi.json generates. `--write` regenerates instead.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { startApi } from '../test/support.mjs';

const api = await startApi({}, { restartOnce: false });
try {
  const script = fileURLToPath(new URL('./generate.mjs', import.meta.url));
  const args = [script, `${api.url}/openapi.json`, ...(process.argv.includes('--write') ? [] : ['--check'])];
  execFileSync(process.execPath, args, { stdio: 'inherit' });
} catch {
  process.exitCode = 1;
} finally {
  await api.stop();
}
