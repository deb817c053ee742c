import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 6,
  name: "named queues, queue settings, worker slots",
  sql: `
      -- Every job belongs to a named queue; jobs from before queues existed land in 'default'.
      ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
      -- A queue's jobs per state but pending (a bulk enqueue writes no entry here): the concurrency limit's count of
      -- its processing jobs, and queue list's counts (pending ones are counted from jobs_queue_runnable).
      CREATE INDEX jobs_queue_state ON jobs (queue, state) WHERE state <> 'pending';
      -- Each queue's runnable jobs in claim order: when a paused or full queue's backlog lies ahead of the others in
      -- jobs_runnable, a claim takes each other queue's best jobs from here instead of stepping over that backlog.
      CREATE INDEX jobs_queue_runnable ON jobs (queue, priority DESC, run_at, created_at) WHERE state IN ('pending', 'failed');

      -- A queue's settings; a row exists only once a setting was made. rate_next_at and rate_slot pace a rate:
      -- the earliest next start, and the ring slot (rate_slot % rate_count) the next start writes.
      CREATE TABLE queues (
        name           TEXT PRIMARY KEY,
        concurrency    INTEGER,
        rate_count     INTEGER,
        rate_period_ms INTEGER,
        paused         INTEGER NOT NULL DEFAULT 0,
        rate_next_at   INTEGER NOT NULL DEFAULT 0,
        rate_slot      INTEGER NOT NULL DEFAULT 0,
        updated_at     INTEGER
      );
      -- The start times of a rate-limited queue's last rate_count starts, as a ring: never more than rate_count
      -- starts in any window of rate_period_ms.
      CREATE TABLE queue_starts (
        queue      TEXT NOT NULL,
        slot       INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (queue, slot)
      ) WITHOUT ROWID;

      -- A worker's slots and the queues it serves (JSON array of names; NULL: every queue).
      ALTER TABLE workers ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE workers ADD COLUMN queues TEXT;
    `,
};
