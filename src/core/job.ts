/**
 * The job model: states, the job and attempt records, and the transition table.
 *
 * States and who moves a job out of each:
 * - `waiting`    — has unfinished dependencies. Moved by the store when its last dependency completes
 *                  (-> pending) or when one ends dead/cancelled (-> cancelled).
 * - `pending`    — runnable from `run_at`. Moved by a worker's claim (-> processing) or `cancel` (-> cancelled).
 * - `processing` — a worker holds its lease. Moved by that worker's report (-> completed/failed/dead/cancelled,
 *                  or back to pending when a stop interrupts it), or by a reaper once the lease is lost (-> failed/dead).
 * - `failed`     — an attempt failed; runnable again at `run_at` (the backoff). Moved like `pending`.
 * - `completed`, `dead`, `cancelled` — terminal. `dlq retry` moves dead (and cancelled) jobs back to pending.
 */
export const JOB_STATES = ['waiting', 'pending', 'processing', 'completed', 'failed', 'dead', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a job never leaves on its own. */
export const TERMINAL_STATES = ['completed', 'dead', 'cancelled'] as const satisfies readonly JobState[];
export type TerminalState = (typeof TERMINAL_STATES)[number];

/** Every legal move; the store's guarded updates only ever perform these. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  waiting: ['pending', 'cancelled'],
  pending: ['processing', 'cancelled'],
  processing: ['completed', 'failed', 'dead', 'cancelled', 'pending'],
  failed: ['processing', 'cancelled'],
  completed: [],
  dead: ['pending'],
  cancelled: ['pending'],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

export function isTerminal(state: JobState): state is TerminalState {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

/**
 * How one attempt ended, kept apart from the job's state:
 * `exit` (the command exited; see exit code / signal), `timeout`, `spawn_error` (could not start, e.g. a missing cwd),
 * `worker_lost` (its worker died or lost the lease), `cancelled`, `stopped` (a forced worker stop; not counted).
 */
export const ATTEMPT_OUTCOMES = ['exit', 'timeout', 'spawn_error', 'worker_lost', 'cancelled', 'stopped'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Times are milliseconds since the epoch, as the store's clock saw them. */
export interface Job {
  id: string;
  command: string;
  /** The named queue it belongs to (`default` unless given). */
  queue: string;
  state: JobState;
  /** Attempts started so far (a forced stop does not count). */
  attempts: number;
  /** Re-runs allowed after the first attempt: a job runs at most `maxRetries + 1` times. */
  maxRetries: number;
  priority: number;
  runAt: number;
  /** Per-job timeout in seconds; null means the `job-timeout` config applies. */
  timeout: number | null;
  cwd: string | null;
  env: Record<string, string> | null;
  dependsOn: string[];
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  workerId: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  exitCode: number | null;
  /** Set when `cancel` asked the worker running this job to signal it. */
  cancelSignal: string | null;
}

/** One run of a job. */
export interface Attempt {
  jobId: string;
  attempt: number;
  workerId: string;
  host: string;
  /** PID of the command's process group leader (the `sh`), once spawned. */
  pid: number | null;
  /** Start time of that process, so a recycled PID is never mistaken for it. */
  pidStart: string | null;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  outputBytes: number;
  outputTruncated: boolean;
}

export type OutputStream = 'stdout' | 'stderr';

export interface OutputChunk {
  seq: number;
  stream: OutputStream;
  data: string;
}

/** Per-state counts, always with every state present. */
export type JobCounts = Record<JobState, number>;

export function emptyCounts(): JobCounts {
  return { waiting: 0, pending: 0, processing: 0, completed: 0, failed: 0, dead: 0, cancelled: 0 };
}
