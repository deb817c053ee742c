import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 5,
  name: "schedules (recurring jobs)",
  sql: `
      -- A recurring job: a cadence (cron in a zone, or every N ms) and a job template (enqueue's JSON fields).
      -- Each due tick becomes one job whose id is derived from the name and the tick; next_run_at is the
      -- compare-and-set that lets exactly one firer advance it.
      CREATE TABLE @schema.schedules (
        name         text PRIMARY KEY,
        cron         text,
        every_ms     bigint,
        time_zone    text NOT NULL,
        no_overlap   boolean NOT NULL DEFAULT false,
        catch_up     text NOT NULL,
        job          jsonb NOT NULL,
        paused       boolean NOT NULL DEFAULT false,
        next_run_at  bigint NOT NULL,
        last_tick_at bigint,
        last_job_id  text,
        created_at   bigint NOT NULL,
        updated_at   bigint NOT NULL,
        CHECK ((cron IS NULL) <> (every_ms IS NULL))
      );
      CREATE INDEX schedules_due ON @schema.schedules (next_run_at) WHERE NOT paused;
    `,
};
