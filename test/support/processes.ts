import { existsSync, readFileSync } from 'node:fs';

/**
 * True while `pid` is a running process. A zombie counts as gone: it has exited and only waits to be reaped, which
 * never happens to orphans in a container whose init does not reap (so `process.kill(pid, 0)` alone would lie).
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // Without /proc (not Linux) the signal check is all there is; with it, the process exited meanwhile.
    return !existsSync('/proc/self/stat');
  }
}

/** Sends `signal` to a process (or, with a negative pid, a process group), ignoring one that is already gone. */
export function signalQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
