import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 1,
  name: "initial schema",
  sql: `
      CREATE TABLE @schema.jobs (
        id               text PRIMARY KEY,
        seq              bigint GENERATED ALWAYS AS IDENTITY,  -- insertion order, breaking ties of equal times
        command          text NOT NULL,
        state            text NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,  -- counted against max_retries
        runs             integer NOT NULL DEFAULT 0,  -- every run, numbering the attempts table
        max_retries      bigint NOT NULL,
        priority         bigint NOT NULL DEFAULT 0,
        run_at           bigint NOT NULL,
        timeout          double precision,
        cwd              text,
        env              text,                        -- JSON object, kept as text so its key order survives
        depends_on       text,                        -- JSON array
        created_at       bigint NOT NULL,
        updated_at       bigint NOT NULL,
        finished_at      bigint,
        worker_id        text,
        lease_expires_at bigint,
        last_error       text,
        exit_code        integer,
        cancel_signal    text
      );
      -- The claim walks this index in claim order and stops at the first due row, however many jobs have finished.
      CREATE INDEX jobs_runnable ON @schema.jobs (priority DESC, run_at, created_at, seq) WHERE state IN ('pending', 'failed');
      -- Listing (newest first, per state and merged across states), counting and the dead-letter queue.
      CREATE INDEX jobs_state ON @schema.jobs (state, created_at, seq);
      CREATE INDEX jobs_finished ON @schema.jobs (state, finished_at) WHERE finished_at IS NOT NULL;

      CREATE TABLE @schema.job_deps (
        job_id     text NOT NULL,
        depends_on text NOT NULL,
        PRIMARY KEY (job_id, depends_on)
      );
      CREATE INDEX job_deps_reverse ON @schema.job_deps (depends_on, job_id);

      CREATE TABLE @schema.attempts (
        job_id           text NOT NULL,
        attempt          integer NOT NULL,
        worker_id        text NOT NULL,
        host             text NOT NULL,
        pid              integer,
        pid_start        text,
        started_at       bigint NOT NULL,
        finished_at      bigint,
        outcome          text,
        exit_code        integer,
        signal           text,
        error            text,
        output_bytes     bigint NOT NULL DEFAULT 0,
        output_truncated boolean NOT NULL DEFAULT false,
        PRIMARY KEY (job_id, attempt)
      );

      -- Output as bytes: commands may print NUL, which PostgreSQL text cannot hold.
      CREATE TABLE @schema.job_output (
        job_id  text NOT NULL,
        attempt integer NOT NULL,
        seq     integer NOT NULL,
        stream  text NOT NULL,
        data    bytea NOT NULL,
        PRIMARY KEY (job_id, attempt, seq)
      );

      CREATE TABLE @schema.workers (
        id             text PRIMARY KEY,
        host           text NOT NULL,
        pid            integer NOT NULL,
        pid_start      text,
        state          text NOT NULL,
        started_at     bigint NOT NULL,
        last_heartbeat bigint NOT NULL,
        current_job    text,
        stop_request   text
      );

      CREATE TABLE @schema.config (key text PRIMARY KEY, value text NOT NULL);
    `,
};
