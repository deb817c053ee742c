import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 6,
  name: "stats indexes",
  sql: `
      -- Attempts that finished, by when: stats and the dashboard read the last hour through it. A claim inserts its
      -- attempt with finished_at NULL, outside this partial index, so claims write nothing more.
      CREATE INDEX attempts_finished ON @schema.attempts (finished_at) WHERE finished_at IS NOT NULL;
      -- Pending jobs by when they are due: status's oldest due job and next scheduled run are one seek each.
      CREATE INDEX jobs_pending_run_at ON @schema.jobs (run_at) WHERE state = 'pending';
    `,
};
