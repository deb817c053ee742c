import { childProcessSpawn } from './child-process-spawn';
import type { SpawnEngine, SpawnJob } from './job-spawn';
import { loadNativeSpawn, processHasAddon } from './native-spawn';

export type { JobExit, SpawnedJob, SpawnEngine, SpawnJobOptions } from './job-spawn';

/** Set to `child_process` to use Node's spawn even where the addon works (CI runs both). */
export const SPAWN_ENV = 'QUEUECTL_SPAWN';

interface Chosen {
  engine: SpawnEngine;
  spawn: SpawnJob;
  /** Whether any process is left in a job's group: the addon's probe when loaded, else a signal 0 from Node. */
  groupHasMembers: (pgid: number) => boolean;
  /** Frees a read range of a capture file in place (the addon's fallocate); null: capture files are truncated. */
  punchHole: ((fd: number, offset: number, length: number) => boolean) | null;
  /** Why the fallback runs; null for posix_spawn. */
  reason: string | null;
}

let chosen: Chosen | null = null;

/** Picks the engine once per process: posix_spawn through the addon when it loads and works, else child_process. */
function choose(): Chosen {
  if (chosen) return chosen;
  if (process.env[SPAWN_ENV] === 'child_process') {
    chosen = { engine: 'child_process', spawn: childProcessSpawn, groupHasMembers: signalGroupHasMembers, punchHole: null, reason: `${SPAWN_ENV}=child_process` };
  } else {
    const native = loadNativeSpawn();
    chosen = 'spawn' in native
      ? { engine: 'posix_spawn', spawn: native.spawn, groupHasMembers: native.groupHasMembers ?? signalGroupHasMembers, punchHole: native.punchHole, reason: null }
      : { engine: 'child_process', spawn: childProcessSpawn, groupHasMembers: signalGroupHasMembers, punchHole: null, reason: native.reason };
  }
  return chosen;
}

/**
 * Makes this process use `engine` (null: choose again as at start). For tests, which run both engines in one
 * process; throws when posix_spawn is asked for and unavailable, with the reason.
 */
export function useSpawnEngine(engine: SpawnEngine | null): void {
  chosen = null;
  if (engine === null) return;
  if (engine === 'child_process') {
    chosen = { engine, spawn: childProcessSpawn, groupHasMembers: signalGroupHasMembers, punchHole: null, reason: 'chosen by the caller' };
    return;
  }
  const native = loadNativeSpawn();
  if (!('spawn' in native)) throw new Error(`posix_spawn is unavailable: ${native.reason}`);
  chosen = { engine, spawn: native.spawn, groupHasMembers: native.groupHasMembers ?? signalGroupHasMembers, punchHole: native.punchHole, reason: null };
}

/**
 * Starts a job's process with the engine of this process (see SpawnJobOptions for what the child gets). Throws, or
 * returns a rejecting `exited`, when it cannot start.
 */
export const spawnJob: SpawnJob = (options) => choose().spawn(options);

/**
 * Frees the blocks of `length` bytes at `offset` of an open file, leaving its size and other bytes as they are: true
 * when done; false where the addon is not in use or the file system cannot (then the caller truncates).
 */
export function punchHole(fd: number, offset: number, length: number): boolean {
  const punch = choose().punchHole;
  return punch !== null && punch(fd, offset, length);
}

/** True when any process (even a zombie) is left in the group `pgid`: one cheap signal 0, no /proc scan. */
export function groupHasMembers(pgid: number): boolean {
  return choose().groupHasMembers(pgid);
}

/** Node's way: process.kill answers an empty group by throwing, which costs tens of µs (the addon's probe does not). */
function signalGroupHasMembers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The engine jobs of this process are started with. */
export function spawnEngine(): SpawnEngine {
  return choose().engine;
}

/** One line saying which engine runs and, for the fallback, why; for the worker's log. */
export function describeSpawnEngine(): string {
  const { engine, reason } = choose();
  return reason === null ? `jobs start with ${engine}` : `jobs start with ${engine}: ${reason}`;
}

/** The engine of a worker process on this host, as `worker list` shows it; null when that cannot be told. */
export function workerSpawnEngine(pid: number): SpawnEngine | null {
  const loaded = processHasAddon(pid);
  return loaded === null ? null : loaded ? 'posix_spawn' : 'child_process';
}
