import type { OutputChunk, OutputStream } from '../../core/job';
export { toAttempt, toConfig, toJob, toLease, toWorker, type AttemptRow, type JobRow, type LeaseRow, type WorkerRow } from '../rows';

/*
 * Rows as node-postgres returns them with the store's type parsers: bigint columns arrive as numbers (epoch ms and
 * counts stay far below 2^53), booleans as booleans, bytea as Buffers. The rows both adapters share are in ../rows.ts.
 */

/** A `job_output` row; output is stored as UTF-8 bytes. */
export interface OutputRow {
  seq: number;
  stream: string;
  data: Buffer;
}

export function toOutputChunk(row: OutputRow): OutputChunk {
  return { seq: row.seq, stream: row.stream as OutputStream, data: row.data.toString('utf8') };
}
