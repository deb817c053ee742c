import type { Attempt, AttemptOutcome } from '../../core/job';
export { toJob, type JobRow } from '../job-row';
import type { WorkerRecord, WorkerState, StopMode } from '../store';

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
