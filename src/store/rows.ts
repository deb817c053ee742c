import type { Attempt, AttemptOutcome, Job, JobState } from '../core/job';
import type { EnqueueResult, LeaseRecord, StopMode, WorkerRecord, WorkerState } from './store';
import type { NewJob } from '../core/job-spec';

/*
 * Rows of the tables every adapter shares, and their mapping to our types: both schemas keep times as epoch
 * milliseconds and `env` / `depends_on` as JSON text, so one mapping serves them all.
 */

/** A `jobs` row. */
export interface JobRow {
  id: string;
  command: string;
  queue: string;
  state: string;
  attempts: number;
  runs: number;
  max_retries: number;
  priority: number;
  run_at: number;
  timeout: number | null;
  cwd: string | null;
  env: string | null;
  depends_on: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  worker_id: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  exit_code: number | null;
  cancel_signal: string | null;
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    command: row.command,
    queue: row.queue,
    state: row.state as JobState,
    attempts: row.attempts,
    maxRetries: row.max_retries,
    priority: row.priority,
    runAt: row.run_at,
    timeout: row.timeout,
    cwd: row.cwd,
    env: row.env === null ? null : (JSON.parse(row.env) as Record<string, string>),
    dependsOn: row.depends_on === null ? [] : (JSON.parse(row.depends_on) as string[]),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    workerId: row.worker_id,
    leaseExpiresAt: row.lease_expires_at,
    lastError: row.last_error,
    exitCode: row.exit_code,
    cancelSignal: row.cancel_signal,
  };
}

/** How the new jobs of an enqueue start: what their records take beyond the NewJob itself. */
export interface JobStart {
  state: JobState;
  /** Why the job starts cancelled (a dependency already ended badly); else null. */
  reason: string | null;
  now: number;
  defaultMaxRetries: number;
}

/** The job record of a row about to be inserted, built without reading it back (bulk enqueue stays fast). */
export function newJobRecord(job: NewJob, start: JobStart): Job {
  const { state, now } = start;
  return {
    id: job.id,
    command: job.command,
    queue: job.queue,
    state,
    attempts: 0,
    maxRetries: job.maxRetries ?? start.defaultMaxRetries,
    priority: job.priority,
    runAt: job.runAt ?? now + job.delayMs,
    timeout: job.timeout,
    cwd: job.cwd,
    // Shared, not copied: a NewJob is built for one enqueue call and not used after it.
    env: job.env,
    dependsOn: job.dependsOn,
    createdAt: now,
    updatedAt: now,
    finishedAt: state === 'cancelled' ? now : null,
    workerId: null,
    leaseExpiresAt: null,
    lastError: start.reason,
    exitCode: null,
    cancelSignal: null,
  };
}

/**
 * The result for a job an enqueue inserted. Its record is built when first read: a bulk enqueue whose caller only
 * counts what it created keeps one small object per job, not a full record (a tenth of a 100,000-job enqueue).
 */
export class CreatedJob implements EnqueueResult {
  readonly created = true;
  private record: Job | undefined;

  constructor(
    private readonly newJob: NewJob,
    private readonly start: JobStart,
  ) {}

  get job(): Job {
    return (this.record ??= newJobRecord(this.newJob, this.start));
  }
}

export interface AttemptRow {
  job_id: string;
  attempt: number;
  worker_id: string;
  host: string;
  pid: number | null;
  pid_start: string | null;
  started_at: number;
  finished_at: number | null;
  outcome: string | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  output_bytes: number;
  /** 0/1 from SQLite, a boolean from PostgreSQL. */
  output_truncated: number | boolean;
}

export function toAttempt(row: AttemptRow): Attempt {
  return {
    jobId: row.job_id,
    attempt: row.attempt,
    workerId: row.worker_id,
    host: row.host,
    pid: row.pid,
    pidStart: row.pid_start,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    outcome: row.outcome as AttemptOutcome | null,
    exitCode: row.exit_code,
    signal: row.signal,
    error: row.error,
    outputBytes: row.output_bytes,
    outputTruncated: Boolean(row.output_truncated),
  };
}

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  pid_start: string | null;
  state: string;
  started_at: number;
  last_heartbeat: number;
  /** The ids of the jobs it runs, oldest claim first: JSON text (SQLite) or an array (PostgreSQL json); null for none. */
  running_jobs: string | string[] | null;
  concurrency: number;
  /** JSON text of the queue names it serves, or null for every queue. */
  queues: string | null;
  stop_request: string | null;
  heartbeat_expired: number | boolean;
}

export function toWorker(row: WorkerRow): WorkerRecord {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    pidStart: row.pid_start,
    state: row.state as WorkerState,
    startedAt: row.started_at,
    lastHeartbeat: row.last_heartbeat,
    runningJobs: row.running_jobs === null ? [] : typeof row.running_jobs === 'string' ? (JSON.parse(row.running_jobs) as string[]) : row.running_jobs,
    concurrency: row.concurrency,
    queues: row.queues === null ? null : (JSON.parse(row.queues) as string[]),
    stopRequest: row.stop_request as StopMode | null,
    heartbeatExpired: Boolean(row.heartbeat_expired),
  };
}

/** A row of LIST_LEASES: a job in processing, its current attempt and its worker's registration. */
export interface LeaseRow {
  job_id: string;
  attempt: number;
  attempts: number;
  max_retries: number;
  worker_id: string;
  /** 0/1 from SQLite, a boolean from PostgreSQL. */
  lease_expired: number | boolean;
  host: string;
  pid: number | null;
  pid_start: string | null;
  worker_host: string | null;
  worker_pid: number | null;
  worker_pid_start: string | null;
}

export function toLease(row: LeaseRow): LeaseRecord {
  return {
    jobId: row.job_id,
    attempt: row.attempt,
    attempts: row.attempts,
    maxRetries: row.max_retries,
    workerId: row.worker_id,
    leaseExpired: Boolean(row.lease_expired),
    host: row.host,
    pid: row.pid,
    pidStart: row.pid_start,
    worker: row.worker_host === null || row.worker_pid === null ? null : { host: row.worker_host, pid: row.worker_pid, pidStart: row.worker_pid_start },
  };
}

/** A `config` row. */
export interface ConfigRow {
  key: string;
  value: string;
}

/** The `config` table as key -> value text. */
export function toConfig(rows: readonly ConfigRow[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const row of rows) config[row.key] = row.value;
  return config;
}
