import type Database from 'better-sqlite3';
import { emptyCounts, type JobCounts, type JobState } from '../../core/job';
import { validateQueueName, type QueueRecord } from '../../core/queue-settings';
import type { SetQueueParams } from '../store';

/*
 * The SQLite store's queue settings (queue list, queue set / pause / resume): their SQL and the methods SqliteStore
 * delegates to. The claim reads the same rows through ./queue-rules.ts.
 */

const COUNT_BY_QUEUE = `SELECT queue, state, count(*) AS n FROM jobs GROUP BY queue, state`;
const COUNT_QUEUE = `SELECT state, count(*) AS n FROM jobs WHERE queue = ? GROUP BY state`;
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

function toQueue(name: string, counts: JobCounts, settings: SettingsRow | undefined): QueueRecord {
  const rate = settings?.rate_count != null && settings.rate_period_ms != null ? { count: settings.rate_count, periodMs: settings.rate_period_ms } : null;
  return { name, counts, running: counts.processing, concurrency: settings?.concurrency ?? null, rate, paused: settings?.paused === 1 };
}

export class SqliteQueues {
  constructor(private readonly db: SqliteQueueAccess) {}

  /** Every queue that has jobs or a settings row, by name. */
  list(): Promise<QueueRecord[]> {
    return this.db.read(() => {
      const counts = new Map<string, JobCounts>();
      for (const row of this.db.stmt(COUNT_BY_QUEUE).all() as { queue: string; state: JobState; n: number }[]) {
        let queue = counts.get(row.queue);
        if (!queue) counts.set(row.queue, (queue = emptyCounts()));
        queue[row.state] = row.n;
      }
      const settings = new Map((this.db.stmt(LIST_SETTINGS).all() as SettingsRow[]).map((row) => [row.name, row]));
      const names = [...new Set([...counts.keys(), ...settings.keys()])].sort();
      return names.map((name) => toQueue(name, counts.get(name) ?? emptyCounts(), settings.get(name)));
    });
  }

  /** Upserts the settings given (absent fields stay, null lifts), then wakes workers: a limit may have gone. */
  async set(params: SetQueueParams): Promise<QueueRecord> {
    const name = validateQueueName(params.name);
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
      const counts = emptyCounts();
      for (const row of this.db.stmt(COUNT_QUEUE).all(name) as { state: JobState; n: number }[]) counts[row.state] = row.n;
      return toQueue(name, counts, this.db.stmt(GET_SETTINGS).get(name) as SettingsRow);
    });
    await this.db.notify();
    return record;
  }
}
