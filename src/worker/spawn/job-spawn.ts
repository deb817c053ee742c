/** What a job's process is started with: `file` run with `args`, leading a new session (so its own process group). */
export interface SpawnJobOptions {
  file: string;
  args: string[];
  /** The working directory, or null for the worker's own. */
  cwd: string | null;
  env: NodeJS.ProcessEnv;
  /** Descriptors the child gets as its stdout and stderr (its stdin is /dev/null); the caller keeps and closes them. */
  stdoutFd: number;
  stderrFd: number;
}

/** How a job's process ended: an exit code, or the signal that killed it. */
export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A job process being started. `pid` also names its process group; it is null until the process runs (posix_spawn
 * starts it off the event loop's thread: `started` settles then) and stays null when the start failed, and `exited`
 * and `started` then reject. A start can also fail by throwing from `spawnJob` itself.
 */
export interface SpawnedJob {
  readonly pid: number | null;
  /** Settles with the pid once the process runs. */
  readonly started: Promise<number>;
  readonly exited: Promise<JobExit>;
}

/** The two ways to start a job: glibc's posix_spawn through queuectl's addon, or Node's child_process (fork). */
export type SpawnEngine = 'posix_spawn' | 'child_process';

/** Starts one job process. */
export type SpawnJob = (options: SpawnJobOptions) => SpawnedJob;
