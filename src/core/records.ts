import type { Job, JobCounts, JobState } from './job';

/*
 * The records a store returns that the rest of queuectl reads: the queue, the CLI, the serializer. They live on the
 * ground floor so that none of those depends on the store to name what it gets back; the Store interface and its
 * params types stay in src/store/store.ts.
 */

/** A job that reached a final state, as the `on-finish` hook is told about it. */
export interface EndedJob {
  jobId: string;
  state: JobState;
  exitCode: number | null;
}

export interface EnqueueResult {
  job: Job;
  created: boolean;
}

export interface JobCountsSummary {
  counts: JobCounts;
  /** When the longest-waiting due pending job became due (its `run_at`), or null; jobs not yet due do not count. */
  oldestPendingAt: number | null;
  /** The earliest `run_at` of a pending job not yet due, or null. */
  nextRunAt?: number | null;
  now: number;
}

export type WorkerState = 'idle' | 'busy' | 'stopping';
export type StopMode = 'graceful' | 'kill';

export interface WorkerIdentity {
  id: string;
  host: string;
  pid: number;
  /** Process start time (from /proc), so liveness checks survive PID reuse. */
  pidStart: string | null;
}

export interface WorkerRecord extends WorkerIdentity {
  state: WorkerState;
  startedAt: number;
  lastHeartbeat: number;
  /** The jobs it runs now (at most `concurrency`), oldest claim first. */
  runningJobs: string[];
  /** How many jobs it runs at once at most (its slots). */
  concurrency: number;
  /** The queues it serves; null: every queue. */
  queues: string[] | null;
  stopRequest: StopMode | null;
  /** True when the last heartbeat is older than the `staleAfterMs` the store was asked with (by the store's clock). */
  heartbeatExpired: boolean;
}

export interface CancelResult {
  id: string;
  /** `cancelled`: done now; `signalled`: its worker will kill it; `unchanged`: it had already finished. */
  action: 'cancelled' | 'signalled' | 'unchanged';
  state: JobState;
}
