import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, sep } from 'node:path';
import type { JobExit, SpawnedJob, SpawnJob, SpawnJobOptions } from './job-spawn';

/** The compiled addon (native/spawn.c), as built by `node-gyp` into build/Release at install. */
const ADDON_FILE = join('build', 'Release', 'queuectl_spawn.node');

interface SpawnAddon {
  unavailableReason(): string | null;
  /** Whether any process (a zombie too) is left in the group (absent from an addon built before it). */
  groupHasMembers?(pgid: number): boolean;
  /** fallocate(PUNCH_HOLE | KEEP_SIZE); false when the file system cannot (absent from an addon built before it). */
  punchHole?(fd: number, offset: number, length: number): boolean;
  spawn(
    file: string,
    argv: string[],
    cwd: string | null,
    env: string[],
    stdoutFd: number,
    stderrFd: number,
    onExit: (code: number | null, signal: number | null) => void,
  ): number;
  /** spawn on a threadpool thread (absent from an addon built before it): onStart comes once the child runs. */
  spawnAsync?(
    file: string,
    argv: string[],
    cwd: string | null,
    env: string[],
    stdoutFd: number,
    stderrFd: number,
    onStart: (error: Error | null, pid: number | null) => void,
    onExit: (code: number | null, signal: number | null) => void,
  ): void;
}

const signalNames = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/**
 * The package root's addon, found by walking up from here: this file runs from src/worker/spawn (tests), from
 * dist/worker/spawn (the library) and bundled into dist/cli (the CLI), all inside the package.
 */
function findAddon(): string | null {
  let dir = __dirname;
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/** The addon's spawn (and its group probe, when built with one), or why it cannot be used here (never throws). */
export function loadNativeSpawn():
  | { spawn: SpawnJob; groupHasMembers: ((pgid: number) => boolean) | null; punchHole: ((fd: number, offset: number, length: number) => boolean) | null }
  | { reason: string } {
  if (process.platform !== 'linux') return { reason: `native spawn is Linux-only (this is ${process.platform})` };
  const path = findAddon();
  if (path === null) return { reason: `the native addon was not built (${ADDON_FILE} is missing; see the install log)` };
  let addon: SpawnAddon;
  try {
    // A runtime require of a computed path: the CLI bundle (esbuild) leaves it alone and loads the file beside it.
    addon = require(path) as SpawnAddon;
  } catch (err) {
    return { reason: `the native addon did not load: ${(err as Error).message.split('\n')[0]}` };
  }
  const reason = addon.unavailableReason();
  if (reason !== null) return { reason };
  const probe = addon.groupHasMembers;
  const punch = addon.punchHole;
  return {
    spawn: (options) => nativeSpawn(addon, options),
    groupHasMembers: probe ? (pgid) => probe.call(addon, pgid) : null,
    punchHole: punch ? (fd, offset, length) => punch.call(addon, fd, offset, length) : null,
  };
}

function nativeSpawn(addon: SpawnAddon, options: SpawnJobOptions): SpawnedJob {
  const env: string[] = [];
  for (const name in options.env) {
    const value = options.env[name];
    if (value !== undefined) env.push(`${name}=${value}`);
  }
  let settle!: (exit: JobExit) => void;
  let fail!: (err: Error) => void;
  const exited = new Promise<JobExit>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const onExit = (code: number | null, signal: number | null) => settle({ code, signal: signal === null ? null : (signalNames.get(signal) ?? null) });
  const args = [options.file, ...options.args];
  if (!addon.spawnAsync) {
    // Throws (with the errno's code) when it cannot start: a missing program, a cwd that vanished, too big an env.
    const pid = addon.spawn(options.file, args, options.cwd, env, options.stdoutFd, options.stderrFd, onExit);
    return { pid, started: Promise.resolve(pid), exited };
  }
  // Started off the loop's thread, which posix_spawn would hold until the child exec'd (see native/spawn.c): the pid
  // comes with onStart, and a start that fails rejects both promises, as a throw from spawn would have.
  const job: { pid: number | null; started: Promise<number>; exited: Promise<JobExit> } = { pid: null, started: null!, exited };
  job.started = new Promise<number>((resolve, reject) => {
    addon.spawnAsync!(options.file, args, options.cwd, env, options.stdoutFd, options.stderrFd, (error, pid) => {
      if (error !== null || pid === null) {
        const err = error ?? new Error('posix_spawn: no pid');
        reject(err);
        fail(err);
        return;
      }
      job.pid = pid;
      resolve(pid);
    }, onExit);
  });
  // Callers that only await `exited` hear of a failed start there.
  job.started.catch(() => undefined);
  return job;
}

/**
 * Whether the process `pid` (a worker on this host) has the addon loaded, from /proc/PID/maps; null when that cannot
 * be read (gone, another user's, no /proc). A worker loads the addon only to use it, so this names its engine,
 * except where the addon loaded but the kernel refused pidfd_open (before Linux 5.3, or a seccomp filter).
 */
export function processHasAddon(pid: number): boolean | null {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'latin1').includes(ADDON_FILE.split(sep).pop()!);
  } catch {
    return null;
  }
}
