import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs of a test's own (root only), to fill up: `fill()` takes every free byte with a filler file,
 * `free()` gives them back, `unmount()` removes it (lazily, should a killed process still hold a file open there).
 */
export class SmallTmpfs {
  private readonly filler: string;
  private mounted = true;

  private constructor(readonly dir: string) {
    this.filler = join(dir, 'filler');
  }

  static mount(sizeKiB: number): SmallTmpfs {
    const dir = mkdtempSync(join(tmpdir(), 'queuectl-chaos-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
    const tmpfs = new SmallTmpfs(dir);
    // A test process that dies without its `after` must not leave the mount behind.
    process.once('exit', () => tmpfs.unmount());
    return tmpfs;
  }

  /** Writes zeros until the file system is full; returns the bytes taken. */
  fill(): number {
    const fd = openSync(this.filler, 'a');
    const chunk = Buffer.alloc(64 * 1024);
    let taken = 0;
    try {
      for (let size = chunk.length; size >= 512; ) {
        try {
          taken += writeSync(fd, chunk, 0, size);
        } catch {
          size /= 2;
        }
      }
    } finally {
      closeSync(fd);
    }
    return taken;
  }

  free(): void {
    rmSync(this.filler, { force: true });
  }

  unmount(): void {
    if (!this.mounted) return;
    this.mounted = false;
    try {
      execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' });
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // Already gone.
    }
  }
}
