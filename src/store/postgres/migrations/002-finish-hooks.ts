import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 2,
  name: "finish hooks of jobs ended without a worker",
  sql: `
      -- Jobs that ended with no worker to report them (cancelled while queued, or through a dependency): a worker takes
      -- each row and runs the on-finish hook for it.
      CREATE TABLE @schema.finish_hooks (
        job_id     text PRIMARY KEY,
        state      text NOT NULL,
        exit_code  integer,
        created_at bigint NOT NULL
      );
    `,
};
