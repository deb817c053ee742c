import type Database from 'better-sqlite3';
import { emptyCounts, type JobCounts, type JobState } from '../../core/job';
import { UsageError } from '../../core/errors';
import { MAX_QUEUE_CONCURRENCY, MAX_RATE_COUNT, validateQueueName, type QueueRecord } from '../../core/queue-settings';
import type { SetQueueParams } from '../store';

/*
 * The SQLite store's queue settings (queue list, queue set / pause / resume): their SQL and the methods SqliteStore
 * delegates to. The claim reads the same rows through ./queue-rules.ts.
 */

/**
 * Jobs per queue and state, from the indexes alone: every state but pending from jobs_queue_state, and the runnable
 * ones (pending and failed) from jobs_queue_runnable, as state 'runnable'; pending is runnable less failed.
 */
const COUNT_BY_QUEUE = `
  SELECT queue, state, count(*) AS n FROM jobs INDEXED BY jobs_queue_state WHERE state <> 'pending' AND (@queue IS NULL OR queue = @queue)
   GROUP BY queue, state
  UNION ALL
  SELECT queue, 'runnable', count(*) FROM jobs INDEXED BY jobs_queue_runnable WHERE state IN ('pending', 'failed') AND (@queue IS NULL OR queue = @queue)
   GROUP BY queue`;
/**
 * The queue names jobs carry, by a loose index scan of each per-queue index (one seek per queue, whatever the number
 * of jobs): pending jobs are only in jobs_queue_runnable, the others in jobs_queue_state.
 */
const JOB_QUEUES = `
  WITH RECURSIVE
    settled(name) AS (
      SELECT min(queue) FROM jobs INDEXED BY jobs_queue_state WHERE state <> 'pending'
      UNION ALL
      SELECT (SELECT min(queue) FROM jobs INDEXED BY jobs_queue_state WHERE state <> 'pending' AND queue > settled.name)
        FROM settled WHERE settled.name IS NOT NULL),
    runnable(name) AS (
      SELECT min(queue) FROM jobs INDEXED BY jobs_queue_runnable WHERE state IN ('pending', 'failed')
      UNION ALL
      SELECT (SELECT min(queue) FROM jobs INDEXED BY jobs_queue_runnable WHERE state IN ('pending', 'failed') AND queue > runnable.name)
        FROM runnable WHERE runnable.name IS NOT NULL)
  SELECT name FROM settled WHERE name IS NOT NULL UNION SELECT name FROM runnable WHERE name IS NOT NULL`;
/** One queue's jobs in one state other than pending, counted up to @cap. */
const COUNT_STATE_CAPPED = `
  SELECT count(*) AS n FROM (SELECT 1 FROM jobs INDEXED BY jobs_queue_state WHERE queue = @queue AND state = @state AND state <> 'pending' LIMIT @cap)`;
/** One queue's pending jobs, counted up to @cap through its runnable index (passing over its few failed ones). */
const COUNT_PENDING_CAPPED = `
  SELECT count(*) AS n FROM (
    SELECT 1 FROM jobs INDEXED BY jobs_queue_runnable WHERE queue = @queue AND state IN ('pending', 'failed') AND state = 'pending' LIMIT @cap)`;
const LIST_SETTINGS = `SELECT * FROM queues ORDER BY name`;
const GET_SETTINGS = `SELECT * FROM queues WHERE name = ?`;
const UPSERT_SETTINGS = `
  INSERT INTO queues (name, concurrency, rate_count, rate_period_ms, paused, updated_at)
  VALUES (@name, @concurrency, @rateCount, @ratePeriodMs, @paused, @now)
  ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency, rate_count = excluded.rate_count,
    rate_period_ms = excluded.rate_period_ms, paused = excluded.paused, updated_at = excluded.updated_at`;
/** A new or lifted rate starts afresh: no pace, an empty ring. */
const RESET_RATE = `UPDATE queues SET rate_next_at = 0, rate_slot = 0 WHERE name = ?`;
const CLEAR_RING = `DELETE FROM queue_starts WHERE queue = ?`;

interface SettingsRow {
  name: string;
  concurrency: number | null;
  rate_count: number | null;
  rate_period_ms: number | null;
  paused: number;
}

/** What the queue functions need of SqliteStore: its transactions, statement cache, clock and wake-up. */
export interface SqliteQueueAccess {
  read<T>(fn: () => T): Promise<T>;
  write<T>(fn: () => T): Promise<T>;
  stmt(sql: string): Database.Statement;
  now(): number;
  notify(): Promise<void>;
}

function toQueue(name: string, counts: JobCounts, settings: SettingsRow | undefined, capped: JobState[] = []): QueueRecord {
  const rate = settings?.rate_count != null && settings.rate_period_ms != null ? { count: settings.rate_count, periodMs: settings.rate_period_ms } : null;
  return { name, counts, capped, running: counts.processing, concurrency: settings?.concurrency ?? null, rate, paused: settings?.paused === 1 };
}

const isWhole = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;

/** The settings a caller of the library may pass beyond what the CLI parses: a limit of 0 would be a silent pause. */
function checkSettings(params: SetQueueParams): void {
  if (params.concurrency != null && !isWhole(params.concurrency, 1, MAX_QUEUE_CONCURRENCY)) {
    throw new UsageError(`concurrency: expected a whole number from 1 to ${MAX_QUEUE_CONCURRENCY} (null lifts the limit), got ${params.concurrency}`);
  }
  if (params.rate != null && !(isWhole(params.rate.count, 1, MAX_RATE_COUNT) && isWhole(params.rate.periodMs, 1, Number.MAX_SAFE_INTEGER))) {
    throw new UsageError(`rate: expected 1 to ${MAX_RATE_COUNT} jobs per a whole number of milliseconds, got ${params.rate.count} per ${params.rate.periodMs} ms`);
  }
}

export class SqliteQueues {
  constructor(private readonly db: SqliteQueueAccess) {}

  /** Every queue that has jobs or a settings row, by name; with `cap`, each state counted up to it. */
  list(cap?: number): Promise<QueueRecord[]> {
    return this.db.read(() => {
      if (cap !== undefined) return this.listCapped(cap);
      const counts = this.countJobs(null);
      const settings = new Map((this.db.stmt(LIST_SETTINGS).all() as SettingsRow[]).map((row) => [row.name, row]));
      const names = [...new Set([...counts.keys(), ...settings.keys()])].sort();
      return names.map((name) => toQueue(name, counts.get(name) ?? emptyCounts(), settings.get(name)));
    });
  }

  /** Upserts the settings given (absent fields stay, null lifts), then wakes workers: a limit may have gone. */
  async set(params: SetQueueParams): Promise<QueueRecord> {
    const name = validateQueueName(params.name);
    checkSettings(params);
    const record = await this.db.write(() => {
      const old = this.db.stmt(GET_SETTINGS).get(name) as SettingsRow | undefined;
      const concurrency = params.concurrency === undefined ? (old?.concurrency ?? null) : params.concurrency;
      const rateCount = params.rate === undefined ? (old?.rate_count ?? null) : (params.rate?.count ?? null);
      const ratePeriodMs = params.rate === undefined ? (old?.rate_period_ms ?? null) : (params.rate?.periodMs ?? null);
      const paused = params.paused === undefined ? (old?.paused ?? 0) : params.paused ? 1 : 0;
      this.db.stmt(UPSERT_SETTINGS).run({ name, concurrency, rateCount, ratePeriodMs, paused, now: this.db.now() });
      if (rateCount !== (old?.rate_count ?? null) || ratePeriodMs !== (old?.rate_period_ms ?? null)) {
        this.db.stmt(RESET_RATE).run(name);
        this.db.stmt(CLEAR_RING).run(name);
      }
      return toQueue(name, this.countJobs(name).get(name) ?? emptyCounts(), this.db.stmt(GET_SETTINGS).get(name) as SettingsRow);
    });
    await this.db.notify();
    return record;
  }

  /** Finds the queues by their indexes and counts each state up to `cap`: bounded however many jobs there are. */
  private listCapped(cap: number): QueueRecord[] {
    const settings = new Map((this.db.stmt(LIST_SETTINGS).all() as SettingsRow[]).map((row) => [row.name, row]));
    const fromJobs = (this.db.stmt(JOB_QUEUES).all() as { name: string }[]).map((row) => row.name);
    const names = [...new Set([...fromJobs, ...settings.keys()])].sort();
    const countState = this.db.stmt(COUNT_STATE_CAPPED);
    const countPending = this.db.stmt(COUNT_PENDING_CAPPED);
    return names.map((queue) => {
      const counts = emptyCounts();
      const capped: JobState[] = [];
      for (const state of Object.keys(counts) as JobState[]) {
        counts[state] = ((state === 'pending' ? countPending.get({ queue, cap }) : countState.get({ queue, state, cap })) as { n: number }).n;
        if (counts[state] >= cap) capped.push(state);
      }
      return toQueue(queue, counts, settings.get(queue), capped);
    });
  }

  /** The jobs per state of each queue (of `queue` alone when given). */
  private countJobs(queue: string | null): Map<string, JobCounts> {
    const counts = new Map<string, JobCounts>();
    const runnable = new Map<string, number>();
    for (const row of this.db.stmt(COUNT_BY_QUEUE).all({ queue }) as { queue: string; state: JobState | 'runnable'; n: number }[]) {
      let ofQueue = counts.get(row.queue);
      if (!ofQueue) counts.set(row.queue, (ofQueue = emptyCounts()));
      if (row.state === 'runnable') runnable.set(row.queue, row.n);
      else ofQueue[row.state] = row.n;
    }
    for (const [name, n] of runnable) counts.get(name)!.pending = n - counts.get(name)!.failed;
    return counts;
  }
}
