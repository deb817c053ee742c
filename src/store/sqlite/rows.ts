import type { Attempt, AttemptOutcome, Job, JobState } from '../../core/job';
import type { WorkerRecord, WorkerState, StopMode } from '../store';

/** A `jobs` row as better-sqlite3 returns it. */
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
  output_truncated: number;
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
    outputTruncated: row.output_truncated === 1,
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
  current_job: string | null;
  stop_request: string | null;
  heartbeat_expired: number;
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
    heartbeatExpired: row.heartbeat_expired === 1,
  };
}
