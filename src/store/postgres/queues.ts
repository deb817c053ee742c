import { UsageError } from '../../core/errors';
import { emptyCounts, type JobState } from '../../core/job';
import { MAX_QUEUE_CONCURRENCY, MAX_RATE_COUNT, validateQueueName, type QueueRecord, type RateLimit } from '../../core/queue-settings';
import type { SetQueueParams } from '../store';
import type { Database, Executor } from './connection';
import { withSchema } from './queries';

/*
 * The PostgreSQL store's queue settings (queue list / queue set / pause / resume): their SQL and the methods
 * PostgresStore delegates to. The claim that honours them is claim_jobs (migration 007).
 */

const NOW_MS = `floor(extract(epoch FROM now()) * 1000)::bigint`;

const STATEMENTS = {
  /**
   * Every queue that has jobs or a settings row (or only $1 when given), by name (byte order, as on SQLite), with
   * its jobs per state as a json object.
   */
  LIST_QUEUES: `
    WITH counts AS (
      SELECT queue, state, count(*) AS n FROM @schema.jobs WHERE $1::text IS NULL OR queue = $1 GROUP BY queue, state
    ), names AS (
      SELECT queue AS name FROM counts UNION SELECT name FROM @schema.queues WHERE $1::text IS NULL OR name = $1
    )
    SELECT names.name, (SELECT json_object_agg(c.state, c.n) FROM counts c WHERE c.queue = names.name) AS counts,
           q.concurrency, q.rate_count, q.rate_period_ms, coalesce(q.paused, false) AS paused
      FROM names LEFT JOIN @schema.queues q ON q.name = names.name
     ORDER BY names.name COLLATE "C"`,
  /**
   * LIST_QUEUES with each state counted up to $1: the queue names by a loose scan of jobs_queue_state (one index seek
   * per queue), each count a bounded index range, so the cost does not grow with the number of jobs.
   */
  LIST_QUEUES_CAPPED: `
    WITH RECURSIVE job_queues(name) AS (
      SELECT min(queue) FROM @schema.jobs
      UNION ALL
      SELECT (SELECT min(queue) FROM @schema.jobs WHERE queue > job_queues.name) FROM job_queues WHERE job_queues.name IS NOT NULL
    ), names AS (
      SELECT name FROM job_queues WHERE name IS NOT NULL UNION SELECT name FROM @schema.queues
    )
    SELECT names.name,
           (SELECT json_object_agg(s.state, (SELECT count(*) FROM (SELECT 1 FROM @schema.jobs j WHERE j.queue = names.name AND j.state = s.state LIMIT $1) c))
              FROM unnest(ARRAY['waiting', 'pending', 'processing', 'completed', 'failed', 'dead', 'cancelled']) AS s(state)) AS counts,
           q.concurrency, q.rate_count, q.rate_period_ms, coalesce(q.paused, false) AS paused
      FROM names LEFT JOIN @schema.queues q ON q.name = names.name
     ORDER BY names.name COLLATE "C"`,
  /** Creates the settings row of $1 if absent, then locks it for the change that follows. */
  ENSURE_QUEUE: `INSERT INTO @schema.queues (name, updated_at) VALUES ($1, ${NOW_MS}) ON CONFLICT (name) DO NOTHING`,
  LOCK_QUEUE: `SELECT concurrency, rate_count, rate_period_ms, paused FROM @schema.queues WHERE name = $1 FOR UPDATE`,
  /** $2 concurrency, $3/$4 rate, $5 paused, $6 whether the rate changed (its state starts over). */
  UPDATE_QUEUE: `
    UPDATE @schema.queues
       SET concurrency = $2, rate_count = $3, rate_period_ms = $4, paused = $5, updated_at = ${NOW_MS},
           rate_next_at = CASE WHEN $6::boolean THEN 0 ELSE rate_next_at END,
           rate_slot = CASE WHEN $6::boolean THEN 0 ELSE rate_slot END
     WHERE name = $1`,
  CLEAR_QUEUE_STARTS: `DELETE FROM @schema.queue_starts WHERE queue = $1`,
  NOTIFY: `SELECT pg_notify($1, '')`,
};

type QueueQueries = { readonly [K in keyof typeof STATEMENTS]: string };

interface QueueRow {
  name: string;
  counts: Partial<Record<JobState, number>> | null;
  concurrency: number | null;
  rate_count: number | null;
  rate_period_ms: number | null;
  paused: boolean;
}

interface SettingsRow {
  concurrency: number | null;
  rate_count: number | null;
  rate_period_ms: number | null;
  paused: boolean;
}

function toQueue(row: QueueRow, cap?: number): QueueRecord {
  const counts = { ...emptyCounts(), ...(row.counts ?? {}) };
  return {
    name: row.name,
    counts,
    capped: cap === undefined ? [] : (Object.keys(counts) as JobState[]).filter((state) => counts[state] >= cap),
    running: counts.processing,
    concurrency: row.concurrency,
    rate: row.rate_count === null || row.rate_period_ms === null ? null : { count: row.rate_count, periodMs: row.rate_period_ms },
    paused: row.paused,
  };
}

/** The store checks what it is given (the library can call it directly), with the same words as the CLI's parsers. */
function checkSettings(params: SetQueueParams): void {
  validateQueueName(params.name, 'queue');
  const { concurrency, rate } = params;
  if (concurrency != null && (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_QUEUE_CONCURRENCY)) {
    throw new UsageError(`concurrency: expected a whole number from 1 to ${MAX_QUEUE_CONCURRENCY} (or null: no limit), got ${concurrency}`);
  }
  if (rate != null) {
    const countOk = Number.isSafeInteger(rate.count) && rate.count >= 1 && rate.count <= MAX_RATE_COUNT;
    if (!countOk || !Number.isSafeInteger(rate.periodMs) || rate.periodMs < 1) {
      throw new UsageError(`rate: expected from 1 to ${MAX_RATE_COUNT} jobs per period of at least 1 ms, got ${rate.count} per ${rate.periodMs} ms`);
    }
  }
}

function sameRate(a: RateLimit | null, b: RateLimit | null): boolean {
  return a === b || (a !== null && b !== null && a.count === b.count && a.periodMs === b.periodMs);
}

/** What the queue methods need of PostgresStore: its pool, its schema and its channel. */
export interface PostgresQueueAccess {
  db: Database;
  schema: string;
  channel: string;
}

export class PostgresQueues {
  private readonly S: QueueQueries;

  constructor(private readonly access: PostgresQueueAccess) {
    const compiled: Record<string, string> = {};
    for (const [name, sql] of Object.entries(STATEMENTS)) compiled[name] = withSchema(sql, access.schema);
    this.S = compiled as QueueQueries;
  }

  async list(cap?: number): Promise<QueueRecord[]> {
    if (cap !== undefined) return (await this.access.db.query<QueueRow>(this.S.LIST_QUEUES_CAPPED, [cap])).map((row) => toQueue(row, cap));
    return (await this.access.db.query<QueueRow>(this.S.LIST_QUEUES, [null])).map((row) => toQueue(row));
  }

  /** Upserts the settings row; a changed rate starts its ring over. Wakes idle workers (a resume, a lifted limit). */
  async set(params: SetQueueParams): Promise<QueueRecord> {
    checkSettings(params);
    const { name } = params;
    return this.access.db.transaction(async (tx: Executor) => {
      await tx.query(this.S.ENSURE_QUEUE, [name]);
      const current = (await tx.query<SettingsRow>(this.S.LOCK_QUEUE, [name]))[0]!;
      const currentRate = current.rate_count === null || current.rate_period_ms === null ? null : { count: current.rate_count, periodMs: current.rate_period_ms };
      const concurrency = params.concurrency === undefined ? current.concurrency : params.concurrency;
      const rate = params.rate === undefined ? currentRate : params.rate;
      const paused = params.paused ?? current.paused;
      const rateChanged = !sameRate(rate, currentRate);
      await tx.query(this.S.UPDATE_QUEUE, [name, concurrency, rate?.count ?? null, rate?.periodMs ?? null, paused, rateChanged]);
      if (rateChanged) await tx.query(this.S.CLEAR_QUEUE_STARTS, [name]);
      await tx.query(this.S.NOTIFY, [this.access.channel]);
      return toQueue((await tx.query<QueueRow>(this.S.LIST_QUEUES, [name]))[0]!);
    });
  }
}
