import { cutOldestOutput } from '../output-trim';
import type { AppendOutputParams } from '../store';
import type { Connection } from './connection';
import * as Q from './queries';

/** The body of `appendOutput`, inside its write transaction. */
export function appendOutputIn(db: Connection, params: AppendOutputParams): void {
  const { jobId, attempt } = params;
  if (params.truncated) db.stmt(Q.MARK_OUTPUT_LOST).run(jobId, attempt);
  let seq = (db.stmt(Q.OUTPUT_NEXT_SEQ).get(jobId, attempt) as { seq: number }).seq;
  let bytes = 0;
  for (const chunk of params.chunks) {
    db.stmt(Q.INSERT_OUTPUT).run(jobId, attempt, seq++, chunk.stream, chunk.data);
    bytes += Buffer.byteLength(chunk.data);
  }
  const total = (db.stmt(Q.ADD_OUTPUT_BYTES).get({ bytes, jobId, attempt }) as { output_bytes: number } | undefined)?.output_bytes ?? 0;
  if (total > params.limitBytes) trimOutput(db, jobId, attempt, total, params.limitBytes);
}

/** Drops the oldest output until the attempt holds at most `limit` bytes, keeping the tail (see cutOldestOutput). */
function trimOutput(db: Connection, jobId: string, attempt: number, total: number, limit: number): void {
  let bytes = total;
  while (bytes > limit) {
    const oldest = db.stmt(Q.OLDEST_OUTPUT).all(jobId, attempt) as { seq: number; data: string }[];
    if (oldest.length === 0) break;
    const cut = cutOldestOutput(oldest.map((chunk) => ({ seq: chunk.seq, data: Buffer.from(chunk.data) })), bytes, limit);
    for (const seq of cut.deleted) db.stmt(Q.DELETE_OUTPUT_CHUNK).run(jobId, attempt, seq);
    if (cut.cut) db.stmt(Q.REPLACE_OUTPUT_CHUNK).run(cut.cut.data.toString(), jobId, attempt, cut.cut.seq);
    bytes = cut.bytes;
  }
  db.stmt(Q.MARK_OUTPUT_TRUNCATED).run({ bytes, jobId, attempt });
}
