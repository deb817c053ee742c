import type { OutputChunk, OutputStream } from '../../core/job';
export { toAttempt, toJob, toWorker, type AttemptRow, type JobRow, type WorkerRow } from '../rows';
import type { LeaseRecord } from '../store';

/*
 * Rows as node-postgres returns them with the store's type parsers: bigint columns arrive as numbers (epoch ms and
 * counts stay far below 2^53), booleans as booleans, bytea as Buffers.
 */

/** An `attempts` row. */

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
