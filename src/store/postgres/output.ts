import { cutOldestOutput, type StoredChunk } from '../output-trim';
import type { AppendOutputParams } from '../store';
import type { Database, Executor } from './connection';
import type { Queries } from './queries';

/** The body of `appendOutput`: the chunks of one report in one multi-row INSERT, in one transaction. */
export async function appendOutput(db: Database, Q: Queries, params: AppendOutputParams): Promise<void> {
  if (params.chunks.length === 0) {
    if (params.truncated) await db.query(Q.MARK_OUTPUT_LOST, [params.jobId, params.attempt]);
    return;
  }
  const { jobId, attempt, limitBytes } = params;
  const data = params.chunks.map((chunk) => Buffer.from(chunk.data, 'utf8'));
  const bytes = data.reduce((sum, buffer) => sum + buffer.length, 0);
  await db.transaction(async (tx) => {
    if (params.truncated) await tx.query(Q.MARK_OUTPUT_LOST, [jobId, attempt]);
    const total = (await tx.query<{ output_bytes: number }>(Q.ADD_OUTPUT_BYTES, [bytes, jobId, attempt]))[0]?.output_bytes ?? 0;
    const seq = (await tx.query<{ seq: number }>(Q.OUTPUT_NEXT_SEQ, [jobId, attempt]))[0]!.seq;
    await tx.query(Q.INSERT_OUTPUT, [jobId, attempt, seq, params.chunks.map((chunk) => chunk.stream), data]);
    if (total > limitBytes) await trimOutput(tx, Q, jobId, attempt, total, limitBytes);
  });
}

/** Drops the oldest output until the attempt holds at most `limit` bytes, keeping the tail (see cutOldestOutput). */
async function trimOutput(tx: Executor, Q: Queries, jobId: string, attempt: number, total: number, limit: number): Promise<void> {
  let bytes = total;
  while (bytes > limit) {
    const oldest = await tx.query<StoredChunk>(Q.OLDEST_OUTPUT, [jobId, attempt]);
    if (oldest.length === 0) break;
    const cut = cutOldestOutput(oldest, bytes, limit);
    for (const seq of cut.deleted) await tx.query(Q.DELETE_OUTPUT_CHUNK, [jobId, attempt, seq]);
    if (cut.cut) await tx.query(Q.REPLACE_OUTPUT_CHUNK, [jobId, attempt, cut.cut.seq, cut.cut.data]);
    bytes = cut.bytes;
  }
  await tx.query(Q.MARK_OUTPUT_TRUNCATED, [jobId, attempt, bytes]);
}
