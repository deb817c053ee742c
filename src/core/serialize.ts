import type { Attempt, Job, JobCounts, JobState } from './job';
import { formatRate, type QueueRecord } from './queue-settings';
import type { WorkerRecord } from './records';

/*
 * The stable snake_case JSON shapes of `--json` output, the dashboard API and the library's plain-object views.
 * Times are ISO 8601 strings in UTC. Serialising never throws, whatever a stored row holds.
 */

/** An epoch-milliseconds time as ISO 8601, or, for a value no Date can hold, the number as text. */
export function isoTime(ms: number): string {
  const date = new Date(ms);
  // Total: a value no Date can hold (a row written before times were bounded) prints as the number it is.
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

const iso = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

export interface JobJson {
  id: string;
  command: string;
  queue: string;
  state: string;
  attempts: number;
  max_retries: number;
  priority: number;
  run_at: string;
  timeout: number | null;
  cwd: string | null;
  env: Record<string, string> | null;
  depends_on: string[];
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  worker_id: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  exit_code: number | null;
}

export function jobToJson(job: Job): JobJson {
  return {
    id: job.id,
    command: job.command,
    queue: job.queue,
    state: job.state,
    attempts: job.attempts,
    max_retries: job.maxRetries,
    priority: job.priority,
    run_at: iso(job.runAt)!,
    timeout: job.timeout,
    cwd: job.cwd,
    env: job.env,
    depends_on: job.dependsOn,
    created_at: iso(job.createdAt)!,
    updated_at: iso(job.updatedAt)!,
    finished_at: iso(job.finishedAt),
    worker_id: job.workerId,
    lease_expires_at: iso(job.leaseExpiresAt),
    last_error: job.lastError,
    exit_code: job.exitCode,
  };
}

export interface QueueJson {
  name: string;
  /** Its jobs per state (every state, zero included). */
  jobs: JobCounts;
  /** States whose count is "at least" (status counts each up to 10,000); empty in `queue list`, which counts every job. */
  jobs_capped: JobState[];
  running: number;
  /** At most this many of its jobs run at once across all workers; null: no limit. */
  concurrency: number | null;
  /** `10/s`, `100/m`, `5/h`; null: no rate limit. */
  rate: string | null;
  paused: boolean;
}

export function queueToJson(queue: QueueRecord): QueueJson {
  return {
    name: queue.name,
    jobs: queue.counts,
    jobs_capped: queue.capped,
    running: queue.running,
    concurrency: queue.concurrency,
    rate: queue.rate === null ? null : formatRate(queue.rate),
    paused: queue.paused,
  };
}

export function attemptToJson(attempt: Attempt) {
  return {
    attempt: attempt.attempt,
    worker_id: attempt.workerId,
    host: attempt.host,
    pid: attempt.pid,
    started_at: iso(attempt.startedAt),
    finished_at: iso(attempt.finishedAt),
    outcome: attempt.outcome,
    exit_code: attempt.exitCode,
    signal: attempt.signal,
    error: attempt.error,
    output_bytes: attempt.outputBytes,
    output_truncated: attempt.outputTruncated,
  };
}

export function workerToJson(worker: WorkerRecord, gone: boolean, spawnEngine: 'posix_spawn' | 'child_process' | null = null) {
  return {
    id: worker.id,
    pid: worker.pid,
    host: worker.host,
    state: gone ? 'gone' : worker.state,
    /** The jobs it runs now, oldest claim first: as many of its slots as are in use. */
    running_jobs: worker.runningJobs,
    /** How many jobs it runs at once at most. */
    concurrency: worker.concurrency,
    /** The queues it serves; null: every queue. */
    queues: worker.queues,
    started_at: iso(worker.startedAt),
    last_heartbeat: iso(worker.lastHeartbeat),
    stop_requested: worker.stopRequest,
    /** How its jobs start, where that can be told (a live worker of this host); null otherwise. */
    spawn_engine: spawnEngine,
  };
}
