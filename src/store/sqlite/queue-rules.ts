import type Database from 'better-sqlite3';

/*
 * The SQLite store's queue settings as the claim and nextRunAt read them: which queues a claim must treat specially
 * (paused, or restricted by a concurrency limit or a rate), how many more jobs each may start now, and how a start
 * moves a rate on. The write transaction (BEGIN IMMEDIATE) serializes every claimer, so these reads stay true until
 * the claim commits.
 */

/**
 * The settings rows that matter to a claim, with what the rules need: the queue's processing jobs (for a limit) and
 * when the ring slot the next start would take was last used (for a rate). Usually none: then the claim's fast path.
 */
export const SPECIAL_QUEUES = `
  SELECT q.name, q.concurrency, q.rate_count, q.rate_period_ms, q.paused, q.rate_next_at, q.rate_slot,
         CASE WHEN q.concurrency IS NULL THEN 0
              ELSE (SELECT count(*) FROM jobs INDEXED BY jobs_queue_state WHERE queue = q.name AND state = 'processing' AND state <> 'pending') END AS running,
         CASE WHEN q.rate_count IS NULL THEN NULL
              ELSE (SELECT started_at FROM queue_starts WHERE queue = q.name AND slot = q.rate_slot % q.rate_count) END AS slot_started_at,
         CASE WHEN q.rate_count IS NULL OR q.rate_slot = 0 THEN NULL
              ELSE (SELECT started_at FROM queue_starts WHERE queue = q.name AND slot = (q.rate_slot - 1) % q.rate_count) END AS last_started_at
    FROM queues q
   WHERE q.paused = 1 OR q.concurrency IS NOT NULL OR q.rate_count IS NOT NULL`;

const RECORD_START = `
  INSERT INTO queue_starts (queue, slot, started_at) VALUES (@queue, @slot, @now)
  ON CONFLICT (queue, slot) DO UPDATE SET started_at = excluded.started_at`;
const ADVANCE_RATE = `UPDATE queues SET rate_slot = rate_slot + 1, rate_next_at = @nextAt WHERE name = @queue`;
const HAS_DUE_JOBS = `
  SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_queue_runnable WHERE queue = @queue AND state IN ('pending', 'failed') AND run_at <= @now) AS due`;

export interface SpecialQueueRow {
  name: string;
  concurrency: number | null;
  rate_count: number | null;
  rate_period_ms: number | null;
  paused: number;
  rate_next_at: number;
  rate_slot: number;
  running: number;
  slot_started_at: number | null;
  last_started_at: number | null;
}

/**
 * How much lateness a rate makes up while its queue starts jobs without a break: a loaded machine or a slow commit
 * wakes claimers late, and a pace that forgot it would fall behind for good (PostgreSQL: migration 10, claim_jobs).
 */
const RATE_CATCH_UP_MS = 1000;

/** The special queues a claimer serving `queues` (null: all) may take from. */
export function specialQueues(stmt: (sql: string) => Database.Statement, queues: readonly string[] | null): SpecialQueueRow[] {
  const rows = stmt(SPECIAL_QUEUES).all() as SpecialQueueRow[];
  return queues === null ? rows : rows.filter((row) => queues.includes(row.name));
}

/**
 * The earliest time the rate lets the queue start its next job: the pace, the ring's oldest start a period ago, and
 * the last start half a spacing ago.
 */
export function nextRateStart(row: SpecialQueueRow): number {
  const interval = row.rate_period_ms! / row.rate_count!;
  return Math.max(
    row.rate_next_at,
    row.slot_started_at === null ? 0 : row.slot_started_at + row.rate_period_ms!,
    row.last_started_at === null ? 0 : Math.ceil(row.last_started_at + interval / 2),
  );
}

/** How many more jobs of the queue may start in this claim: 0 when paused or at its limit; a rate allows one. */
export function startBudget(row: SpecialQueueRow, now: number): number {
  if (row.paused) return 0;
  let budget = Number.POSITIVE_INFINITY;
  if (row.concurrency !== null) budget = row.concurrency - row.running;
  if (row.rate_count !== null) budget = Math.min(budget, now >= nextRateStart(row) ? 1 : 0);
  return Math.max(budget, 0);
}

/** Whether the queue is left out of nextRunAt: nothing of it may start until a setQueue or a finish wakes workers. */
export function isBlocked(row: SpecialQueueRow): boolean {
  return row.paused === 1 || (row.concurrency !== null && row.running >= row.concurrency);
}

/**
 * A start of a rate-limited queue: the ring slot takes `now`, and the pace moves one interval on from the later of
 * the last pace and a floor. While the queue starts jobs without a break (its last start at most an interval and
 * RATE_CATCH_UP_MS ago) the floor is RATE_CATCH_UP_MS ago, or half an interval when that is longer: late starts are
 * made up, never closer than half an interval (nextRateStart). After a break it is half an interval ago: an idle
 * queue builds up no starts to make up.
 */
export function recordRateStart(stmt: (sql: string) => Database.Statement, row: SpecialQueueRow, now: number): void {
  const interval = row.rate_period_ms! / row.rate_count!;
  const unbroken = row.last_started_at !== null && now - row.last_started_at <= interval + RATE_CATCH_UP_MS;
  const floor = now - (unbroken ? Math.max(RATE_CATCH_UP_MS, interval / 2) : interval / 2);
  stmt(RECORD_START).run({ queue: row.name, slot: row.rate_slot % row.rate_count!, now });
  stmt(ADVANCE_RATE).run({ queue: row.name, nextAt: Math.round(Math.max(row.rate_next_at, floor) + interval) });
}

/** Whether the queue has jobs due now (a rate's next start matters to nextRunAt only then). */
export function hasDueJobs(stmt: (sql: string) => Database.Statement, queue: string, now: number): boolean {
  return (stmt(HAS_DUE_JOBS).get({ queue, now }) as { due: number }).due === 1;
}
