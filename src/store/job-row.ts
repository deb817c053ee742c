import type { Job, JobState } from '../core/job';

/**
 * A `jobs` row, the same in every adapter: both schemas keep times as epoch milliseconds and `env` / `depends_on` as
 * JSON text, so one mapping serves them all.
 */
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
