import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 3,
  name: "attempts without rowid",
  sql: `
      -- Keyed by (job_id, attempt) alone: with a rowid the key was a second b-tree, and every claim and finish read and
      -- wrote both.
      CREATE TABLE attempts_by_key (
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
      ) WITHOUT ROWID;
      INSERT INTO attempts_by_key
        SELECT job_id, attempt, worker_id, host, pid, pid_start, started_at, finished_at, outcome, exit_code, signal, error,
               output_bytes, output_truncated
          FROM attempts;
      DROP TABLE attempts;
      ALTER TABLE attempts_by_key RENAME TO attempts;
    `,
};
