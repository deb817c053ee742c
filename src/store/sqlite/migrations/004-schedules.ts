import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 4,
  name: "schedules (recurring jobs)",
  sql: `
      -- A recurring job: a cadence (cron in a zone, or every N ms) and a job template (enqueue's JSON fields).
      -- Each due tick becomes one job whose id is derived from the name and the tick; next_run_at is the
      -- compare-and-set that lets exactly one firer advance it.
      CREATE TABLE schedules (
        name         TEXT PRIMARY KEY,
        cron         TEXT,
        every_ms     INTEGER,
        time_zone    TEXT NOT NULL,
        no_overlap   INTEGER NOT NULL DEFAULT 0,
        catch_up     TEXT NOT NULL,
        job          TEXT NOT NULL,
        paused       INTEGER NOT NULL DEFAULT 0,
        next_run_at  INTEGER NOT NULL,
        last_tick_at INTEGER,
        last_job_id  TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        CHECK ((cron IS NULL) <> (every_ms IS NULL))
      );
      CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;
    `,
};
