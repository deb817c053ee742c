import type { JobCounts, JobState } from './core/job';
import type { QueueRecord } from './core/queue-settings';
import type { WorkerRecord } from './core/records';
import type { FinishedStats } from './store/store';

/* What the Queue's read operations return (src/queue.ts), for the CLI, the dashboard and library users. */

/** What `stats` and the dashboard's overview show. */
export interface QueueStats {
  windowMs: number;
  now: number;
  counts: JobCounts;
  /** States whose count reached COUNT_CAP: at least that many. */
  cappedStates: JobState[];
  oldestPendingAgeMs: number | null;
  finished: FinishedStats;
  finishedPerMinute: number;
  successRate: number | null;
  failureRate: number | null;
  workers: ListedWorker[];
}

/** What `status` shows. */
export interface QueueStatus {
  counts: JobCounts;
  /** States whose count reached COUNT_CAP: at least that many. */
  cappedStates: JobState[];
  activeWorkers: number;
  busyWorkers: number;
  workersByHost: Record<string, number>;
  /** How long a due pending job has waited (jobs not yet due do not count). */
  oldestPendingAgeMs: number | null;
  /** How long until the next pending job not yet due becomes due. */
  nextRunInMs: number | null;
  workers: ListedWorker[];
  /** Every queue, by name, with its counts and settings. */
  queues: QueueRecord[];
  /** The queue asked for (`status({ queue })`): counts and workers above are its own. Null: every queue. */
  queue: QueueRecord | null;
}

/** A registered worker, with whether it is alive (see `Queue.workers`). */
export interface ListedWorker extends WorkerRecord {
  alive: boolean;
}
