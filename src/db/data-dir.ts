import { chmodSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One service per DATA_DIR. The lock is a file holding the owner's pid, created exclusively; a lock
 * whose owner is gone (a crash, SIGKILL, a reboot, a container restarted with the same pid) is
 * stale and taken over. It is taken before anything else in DATA_DIR is touched.
 */
export const LOCK_FILE = 'task-api.pid';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `Another task API service${pid === undefined ? '' : ` (pid ${pid})`} uses DATA_DIR ${dataDir}: ` +
        'stop it first, or give this one another DATA_DIR (or a DATABASE_URL)',
    );
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  release(): void;
}

/** Whether `pid` is a live process that could be a service of ours (a Node process). */
function isLiveService(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, but another user's; it holds the folder all the same.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Linux: a reused pid belonging to something else is not our service.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node|task-api|server\.js/.test(cmdline);
  } catch {
    return true; // no /proc (macOS): a live pid is taken at its word
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates DATA_DIR if needed (private: 0700, or 0711 when `traversable`, so that the OS user the
 * embedded PostgreSQL runs as can reach its own subfolder) and takes the lock, or throws
 * DataDirInUseError naming the folder.
 */
export function lockDataDir(dataDir: string, options: { traversable?: boolean } = {}): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: options.traversable ? 0o711 : 0o700 });
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readPid(file);
      if (attempt > 0 || (owner !== undefined && isLiveService(owner))) throw new DataDirInUseError(dataDir, owner);
      unlinkSync(file); // stale: its owner is gone
    }
  }
  chmodSync(dataDir, options.traversable ? 0o711 : 0o700);
  let released = false;
  return {
    dataDir,
    release() {
      if (released) return;
      released = true;
      try {
        if (readPid(file) === process.pid) unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}
