import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** This host's name as recorded on workers and attempts; `QUEUECTL_HOST` overrides it (tests, containers). */
export function currentHost(): string {
  return process.env.QUEUECTL_HOST || hostname();
}

/**
 * A process's start time (clock ticks since boot, from /proc), or null where /proc is missing. A PID plus its start
 * time names one process for good: a recycled PID has another start time.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function signalReaches(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` runs and is the same process that was recorded (its start time matches). */
export function isProcessAlive(pid: number, pidStart: string | null): boolean {
  if (!signalReaches(pid)) return false;
  if (pidStart === null) return true;
  const start = processStartTime(pid);
  return start === null || start === pidStart;
}

/** True while any process of the group led by `pgid` is left. */
export function processGroupExists(pgid: number): boolean {
  return signalReaches(-pgid);
}

/**
 * Signals the process group a job's `sh` leads. When the leader still runs it must be the recorded process (a
 * recycled PID is never signalled); when it has exited but members of its group remain, the group is still ours,
 * because Linux does not hand out a PID that names a live process group.
 */
export function signalProcessGroup(pgid: number, pidStart: string | null, signal: NodeJS.Signals): boolean {
  if (signalReaches(pgid) && pidStart !== null) {
    const start = processStartTime(pgid);
    if (start !== null && start !== pidStart) return false;
  }
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
