import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 2,
  name: "finish hooks of jobs ended without a worker",
  sql: `
      -- Jobs that ended with no worker to report them (cancelled while queued, or through a dependency): a worker takes
      -- each row and runs the on-finish hook for it.
      CREATE TABLE finish_hooks (
        job_id     TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        exit_code  INTEGER,
        created_at INTEGER NOT NULL
      );
    `,
};
