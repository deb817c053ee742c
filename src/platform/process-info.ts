import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** This host's name as recorded on workers and attempts; `QUEUECTL_HOST` overrides it (tests, containers). */
export function currentHost(): string {
  return process.env.QUEUECTL_HOST || hostname();
}

/** This host as the worker liveness rule sees it (core/worker-liveness.ts): its name, and its processes. */
export function thisHost(): { host: string; isProcessAlive: (pid: number, pidStart: string | null) => boolean } {
  return { host: currentHost(), isProcessAlive };
}

/** Fields of /proc/PID/stat after the command name (which is in parentheses and may itself hold spaces), or null. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * A process's start time (clock ticks since boot, from /proc), or null where /proc is missing. A PID plus its start
 * time names one process for good: a recycled PID has another start time.
 */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/**
 * True when /proc shows the process has exited and only its zombie waits to be reaped. A SIGKILLed worker or job is
 * reparented to PID 1, and a container's PID 1 may reap late or never: its zombie still answers signal 0.
 */
function isZombie(fields: string[] | null): boolean {
  const state = fields?.[0];
  return state === 'Z' || state === 'X';
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
  const fields = procStat(pid);
  if (isZombie(fields)) return false;
  if (pidStart === null) return true;
  const start = fields?.[19] ?? null;
  return start === null || start === pidStart;
}

/** True while any process of the group led by `pgid` is left that has not exited (zombies do not count). */
export function processGroupExists(pgid: number): boolean {
  if (!signalReaches(-pgid)) return false;
  const leader = procStat(pgid);
  if (leader !== null && !isZombie(leader)) return true;
  // The leader is gone or a zombie: look for a live member; without /proc, trust the signal.
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  if (leader === null && pids.length === 0) return true;
  return pids.some((name) => {
    const fields = procStat(Number(name));
    return fields !== null && Number(fields[2]) === pgid && !isZombie(fields);
  });
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

/** The variables every job's processes inherit, naming the attempt they belong to (see the worker's runJob). */
export function attemptMarker(jobId: string, attempt: number): Record<string, string> {
  return { QUEUECTL_JOB_ID: jobId, QUEUECTL_ATTEMPT: String(attempt) };
}

/**
 * The process groups of an attempt's processes still running on this host, found by the marker in their environment
 * (/proc/PID/environ). For an attempt whose worker died before it recorded the process group: what it started must
 * still be killed before the job runs again. Empty where /proc is missing.
 */
export function findAttemptProcessGroups(jobId: string, attempt: number): number[] {
  const wanted = Object.entries(attemptMarker(jobId, attempt)).map(([name, value]) => `\0${name}=${value}\0`);
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  // Never our own group, nor 0 or 1: signalling those would reach far more than the job.
  const ownGroup = Number(procStat(process.pid)?.[2] ?? 0);
  const groups = new Set<number>();
  for (const name of pids) {
    let environ: string;
    try {
      environ = `\0${readFileSync(`/proc/${name}/environ`, 'latin1')}`;
    } catch {
      continue; // gone, or another user's
    }
    if (!wanted.every((entry) => environ.includes(entry))) continue;
    const fields = procStat(Number(name));
    const pgid = Number(fields?.[2]);
    if (fields !== null && !isZombie(fields) && pgid > 1 && pgid !== ownGroup) groups.add(pgid);
  }
  return [...groups];
}
