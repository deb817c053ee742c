import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Unmounts and removes the directory; safe to call twice. */
  cleanup: () => void;
}

/**
 * A small tmpfs of `size` (e.g. `2m`) in a fresh directory: a disk that really fills up. Needs root (CAP_SYS_ADMIN).
 * Returns the one-line reason when mounting is impossible, which only skips a test outside CI.
 */
export function mountTmpfs(size: string): Tmpfs | string {
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const reason = `cannot mount a tmpfs (${((err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message).split('\n')[0]})`;
    if (process.env.CI === 'true') throw new Error(`${reason}; the disk-full tests must run under CI`);
    return reason;
  }
  let mounted = true;
  return {
    dir,
    cleanup: () => {
      if (mounted) {
        try {
          execFileSync('umount', [dir], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // busy: detach now, free when the last file closes
        }
      }
      mounted = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file until the file system is full (ENOSPC); returns its path. */
export function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) {
      try {
        writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // Smaller writes take the last partial block too.
        try {
          for (;;) writeSync(fd, Buffer.alloc(512, 1));
        } catch {
          return path;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
