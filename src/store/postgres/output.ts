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

/** Drops the oldest output until the attempt holds at most `limit` bytes, keeping the tail. */
async function trimOutput(tx: Executor, Q: Queries, jobId: string, attempt: number, total: number, limit: number): Promise<void> {
  let bytes = total;
  while (bytes > limit) {
    const oldest = await tx.query<{ seq: number; data: Buffer }>(Q.OLDEST_OUTPUT, [jobId, attempt]);
    if (oldest.length === 0) break;
    for (const chunk of oldest) {
      const excess = bytes - limit;
      if (chunk.data.length <= excess) {
        await tx.query(Q.DELETE_OUTPUT_CHUNK, [jobId, attempt, chunk.seq]);
        bytes -= chunk.data.length;
      } else {
        // Cut at a character boundary: the rest of a split UTF-8 character would decode to a replacement character.
        let start = excess;
        while (start < chunk.data.length && (chunk.data[start]! & 0xc0) === 0x80) start++;
        await tx.query(Q.REPLACE_OUTPUT_CHUNK, [jobId, attempt, chunk.seq, chunk.data.subarray(start)]);
        bytes -= start;
      }
      if (bytes <= limit) break;
    }
  }
  await tx.query(Q.MARK_OUTPUT_TRUNCATED, [jobId, attempt, bytes]);
}
