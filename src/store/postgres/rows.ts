import type { Attempt, AttemptOutcome, Job, JobState, OutputChunk, OutputStream } from '../../core/job';
import type { LeaseRecord, StopMode, WorkerRecord, WorkerState } from '../store';

/*
 * Rows as node-postgres returns them with the store's type parsers: bigint columns arrive as numbers (epoch ms and
 * counts stay far below 2^53), booleans as booleans, bytea as Buffers.
 */

/** A `jobs` row. */
export interface JobRow {
  id: string;
  command: string;
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

/** An `attempts` row. */
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
  output_truncated: boolean;
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
    outputTruncated: row.output_truncated,
  };
}

/** A `job_output` row; output is stored as UTF-8 bytes. */
export interface OutputRow {
  seq: number;
  stream: string;
  data: Buffer;
}

export function toOutputChunk(row: OutputRow): OutputChunk {
  return { seq: row.seq, stream: row.stream as OutputStream, data: row.data.toString('utf8') };
}

/** A `workers` row with its staleness, computed by the database clock. */
export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  pid_start: string | null;
  state: string;
  started_at: number;
  last_heartbeat: number;
  current_job: string | null;
  stop_request: string | null;
  heartbeat_expired: boolean;
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
    currentJob: row.current_job,
    stopRequest: row.stop_request as StopMode | null,
    heartbeatExpired: row.heartbeat_expired,
  };
}

/** A row of LIST_LEASES. */
export interface LeaseRow {
  job_id: string;
  attempt: number;
  attempts: number;
  max_retries: number;
  worker_id: string;
  lease_expired: boolean;
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
    leaseExpired: row.lease_expired,
    host: row.host,
    pid: row.pid,
    pidStart: row.pid_start,
    worker: row.worker_host === null || row.worker_pid === null ? null : { host: row.worker_host, pid: row.worker_pid, pidStart: row.worker_pid_start },
  };
}

/** The `config` table as key -> value text. */
export function toConfig(rows: readonly { key: string; value: string }[]): Record<string, string> {
  const config: Record<string, string> = {};
  for (const row of rows) config[row.key] = row.value;
  return config;
}
