import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 1,
  name: "initial schema",
  sql: `
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);

      CREATE TABLE jobs (
        id               TEXT PRIMARY KEY,
        command          TEXT NOT NULL,
        state            TEXT NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,  -- counted against max_retries
        runs             INTEGER NOT NULL DEFAULT 0,  -- every run, numbering the attempts table
        max_retries      INTEGER NOT NULL,
        priority         INTEGER NOT NULL DEFAULT 0,
        run_at           INTEGER NOT NULL,
        timeout          REAL,
        cwd              TEXT,
        env              TEXT,
        depends_on       TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        finished_at      INTEGER,
        worker_id        TEXT,
        lease_expires_at INTEGER,
        last_error       TEXT,
        exit_code        INTEGER,
        cancel_signal    TEXT
      );
      -- The claim walks this index in claim order and stops at the first due row.
      CREATE INDEX jobs_runnable ON jobs (priority DESC, run_at, created_at) WHERE state IN ('pending', 'failed');
      CREATE INDEX jobs_state ON jobs (state, created_at);
      CREATE INDEX jobs_finished ON jobs (state, finished_at) WHERE finished_at IS NOT NULL;

      CREATE TABLE job_deps (
        job_id     TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        PRIMARY KEY (job_id, depends_on)
      ) WITHOUT ROWID;
      CREATE INDEX job_deps_reverse ON job_deps (depends_on, job_id);

      CREATE TABLE attempts (
        job_id           TEXT NOT NULL,
        attempt          INTEGER NOT NULL,
        worker_id        TEXT NOT NULL,
        host             TEXT NOT NULL,
        pid              INTEGER,
        pid_start        TEXT,
        started_at       INTEGER NOT NULL,
        finished_at      INTEGER,
        outcome          TEXT,
        exit_code        INTEGER,
        signal           TEXT,
        error            TEXT,
        output_bytes     INTEGER NOT NULL DEFAULT 0,
        output_truncated INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, attempt)
      );

      CREATE TABLE job_output (
        job_id  TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        stream  TEXT NOT NULL,
        data    TEXT NOT NULL,
        PRIMARY KEY (job_id, attempt, seq)
      );

      CREATE TABLE workers (
        id             TEXT PRIMARY KEY,
        host           TEXT NOT NULL,
        pid            INTEGER NOT NULL,
        pid_start      TEXT,
        state          TEXT NOT NULL,
        started_at     INTEGER NOT NULL,
        last_heartbeat INTEGER NOT NULL,
        current_job    TEXT,
        stop_request   TEXT
      );

      CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
};
