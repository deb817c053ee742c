import { StoreUnavailableError } from '../../core/errors';
import type { Executor } from './connection';
import { withSchema, type Queries } from './queries';

/**
 * Numbered, forward-only schema migrations for the PostgreSQL store. `@schema` stands for the quoted schema name
 * (see `withSchema` in queries.ts). Each migration runs in one transaction under a per-schema advisory lock, and
 * `schema_migrations` records it, so several hosts starting at once apply each one exactly once.
 *
 * Times are bigint epoch milliseconds computed from the database's `now()`: the same arithmetic as the SQLite store,
 * exact round trips of the times users give, and no overflow on a huge backoff or delay.
 */
/*
 * The worker's writes as plpgsql functions, each defined once here in its current form. A migration that changes one
 * re-applies it (CREATE OR REPLACE, as migration 4 does); the migration that first created it takes the current form
 * too, so a new schema and an upgraded one end with the same functions.
 */
const FINISH_JOB_FUNCTION = `
      -- The guarded report of an attempt (nothing when the worker no longer holds the job), then its dependents.
      -- promoted: how many dependents became pending.
      CREATE OR REPLACE FUNCTION @schema.finish_job(
        p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text,
        p_worker_id text, p_attempt integer, p_outcome text, p_signal text
      ) RETURNS TABLE (applied boolean, promoted integer) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        now_ms  bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_moved integer := 0;
      BEGIN
        UPDATE @schema.jobs
           SET state = p_state,
               attempts = attempts - p_uncounted,
               run_at = CASE WHEN p_state = 'failed' THEN now_ms + p_delay WHEN p_state = 'pending' THEN now_ms ELSE run_at END,
               finished_at = CASE WHEN p_state IN ('completed', 'dead', 'cancelled') THEN now_ms END,
               worker_id = NULL, lease_expires_at = NULL, cancel_signal = NULL,
               last_error = p_error, exit_code = p_exit_code, updated_at = now_ms
         WHERE id = p_job_id AND state = 'processing' AND worker_id = p_worker_id AND runs = p_attempt;
        IF NOT FOUND THEN
          RETURN QUERY SELECT false, 0;
          RETURN;
        END IF;
        UPDATE @schema.attempts SET finished_at = now_ms, outcome = p_outcome, exit_code = p_exit_code, signal = p_signal, error = p_error
         WHERE job_id = p_job_id AND attempt = p_attempt;

        IF p_state = 'completed' THEN
          -- Lock the waiting dependents in id order first: two dependencies finishing at once take turns, and the
          -- second sees the first completed.
          PERFORM 1 FROM @schema.jobs
            WHERE state = 'waiting' AND id IN (SELECT job_id FROM @schema.job_deps WHERE depends_on = p_job_id)
            ORDER BY id FOR UPDATE;
          IF FOUND THEN
            -- Dependents whose every dependency has completed become pending. Purged dependencies count as done.
            UPDATE @schema.jobs SET state = 'pending', updated_at = now_ms
             WHERE state = 'waiting'
               AND id IN (SELECT job_id FROM @schema.job_deps WHERE depends_on = p_job_id)
               AND NOT EXISTS (SELECT 1 FROM @schema.job_deps d JOIN @schema.jobs dep ON dep.id = d.depends_on
                                WHERE d.job_id = jobs.id AND dep.state <> 'completed');
            GET DIAGNOSTICS v_moved = ROW_COUNT;
          END IF;
        ELSIF p_state IN ('dead', 'cancelled') THEN
          PERFORM @schema.cancel_dependents(p_job_id, p_state);
        END IF;
        RETURN QUERY SELECT true, v_moved;
      END
      $fn$;
`;

const CLAIM_JOB_FUNCTION = `
      -- Claims the due job with the highest priority, earliest run_at, oldest (other workers' locked rows skipped),
      -- records the attempt. The job row as json, or null when nothing is due.
      CREATE OR REPLACE FUNCTION @schema.claim_job(p_worker_id text, p_lease bigint, p_host text) RETURNS json LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        now_ms bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_job  json;
      BEGIN
        WITH claimed AS (
          UPDATE @schema.jobs
             SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = p_worker_id,
                 lease_expires_at = now_ms + p_lease, updated_at = now_ms, cancel_signal = NULL
           WHERE id = (SELECT id FROM @schema.jobs
                        WHERE state IN ('pending', 'failed') AND run_at <= now_ms
                        ORDER BY priority DESC, run_at, created_at, seq
                        LIMIT 1
                        FOR UPDATE SKIP LOCKED)
          RETURNING *
        ), attempt AS (
          INSERT INTO @schema.attempts (job_id, attempt, worker_id, host, started_at)
          SELECT id, runs, p_worker_id, p_host, now_ms FROM claimed
        )
        SELECT row_to_json(claimed) INTO v_job FROM claimed;
        RETURN v_job;
      END
      $fn$;
`;

export const POSTGRES_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'initial schema',
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
  },
  {
    version: 2,
    name: 'finish hooks of jobs ended without a worker',
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
  },
  {
    version: 3,
    name: 'the job lifecycle as functions',
    sql: `
      -- The worker's writes as functions, so a report and the next claim are one round trip (finish_and_claim) and
      -- each piece of SQL exists once. In READ COMMITTED every statement of a volatile function takes a new snapshot:
      -- the dependents lock, taken after the job row's, sees a dependent enqueued while the job ran.

      -- Everything downstream of a dead or cancelled job that still waits ends cancelled, recorded for its finish hook.
      CREATE FUNCTION @schema.cancel_dependents(p_job_id text, p_state text) RETURNS void LANGUAGE sql VOLATILE AS $fn$
        WITH RECURSIVE downstream(id) AS (
          SELECT job_id FROM @schema.job_deps WHERE depends_on = p_job_id
          UNION
          SELECT d.job_id FROM @schema.job_deps d JOIN downstream ON d.depends_on = downstream.id
        ), locked AS (
          SELECT id FROM @schema.jobs WHERE state = 'waiting' AND id IN (SELECT id FROM downstream) ORDER BY id FOR UPDATE
        ), cancelled AS (
          UPDATE @schema.jobs SET state = 'cancelled', last_error = format('dependency %L ended %s', p_job_id, p_state),
                 finished_at = floor(extract(epoch FROM now()) * 1000)::bigint, updated_at = floor(extract(epoch FROM now()) * 1000)::bigint
           WHERE state = 'waiting' AND id IN (SELECT id FROM locked)
          RETURNING id
        )
        INSERT INTO @schema.finish_hooks (job_id, state, created_at)
        SELECT id, 'cancelled', floor(extract(epoch FROM now()) * 1000)::bigint FROM cancelled
        ON CONFLICT (job_id) DO NOTHING;
      $fn$;

${FINISH_JOB_FUNCTION}
${CLAIM_JOB_FUNCTION}
      -- A worker's report and the claim of its next job, in one call: the claim only when the report applied.
      CREATE FUNCTION @schema.finish_and_claim(
        p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text,
        p_worker_id text, p_attempt integer, p_outcome text, p_signal text, p_lease bigint, p_host text
      ) RETURNS TABLE (applied boolean, promoted integer, job json) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_finish record;
      BEGIN
        SELECT * INTO v_finish
          FROM @schema.finish_job(p_state, p_uncounted, p_delay, p_error, p_exit_code, p_job_id, p_worker_id, p_attempt, p_outcome, p_signal);
        IF NOT v_finish.applied THEN
          RETURN QUERY SELECT false, 0, NULL::json;
          RETURN;
        END IF;
        RETURN QUERY SELECT true, v_finish.promoted, @schema.claim_job(p_worker_id, p_lease, p_host);
      END
      $fn$;
    `,
  },
  {
    version: 4,
    name: 'claims and reports write no worker row',
    sql: `
      -- A worker's job and busy/idle state are read from the jobs it holds (LIST_WORKERS), so the claim and the report
      -- no longer update its row: two row updates less per job on the hottest table of a busy queue.
${FINISH_JOB_FUNCTION}
${CLAIM_JOB_FUNCTION}
    `,
  },
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;

/** Where to migrate: the schema, and the pool to run on. */
export interface MigrationTarget {
  schema: string;
  location: string;
  queries: Pick<Queries, 'MIGRATION_LOCK' | 'CREATE_SCHEMA' | 'CREATE_MIGRATIONS_TABLE' | 'SCHEMA_VERSION' | 'RECORD_MIGRATION'>;
  db: Executor & { transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> };
}

/**
 * Brings the schema up to date. An up-to-date schema costs one read and needs no CREATE privilege; otherwise each
 * pending migration runs in its own transaction holding the schema's advisory lock, re-reading the version under it.
 */
export async function migrate(target: MigrationTarget): Promise<void> {
  const { queries: Q, db } = target;
  let version = 0;
  try {
    version = (await db.query<{ version: number }>(Q.SCHEMA_VERSION))[0]?.version ?? 0;
  } catch (err) {
    // undefined_table / invalid_schema_name: nothing applied yet.
    const code = (err as { code?: unknown }).code;
    if (code !== '42P01' && code !== '3F000') throw err;
  }
  refuseNewer(target, version);
  if (version === POSTGRES_SCHEMA_VERSION) return;

  for (const migration of POSTGRES_MIGRATIONS) {
    if (migration.version <= version) continue;
    version = await db.transaction(async (tx) => {
      await tx.query(Q.MIGRATION_LOCK, [`queuectl:${target.schema}`]);
      await tx.query(Q.CREATE_SCHEMA);
      await tx.query(Q.CREATE_MIGRATIONS_TABLE);
      const current = (await tx.query<{ version: number }>(Q.SCHEMA_VERSION))[0]?.version ?? 0;
      refuseNewer(target, current);
      if (current >= migration.version) return current;
      // Bookkeeping first: a migrator that somehow got past the lock fails on the primary key instead of re-applying.
      await tx.query(Q.RECORD_MIGRATION, [migration.version, migration.name]);
      await tx.query(withSchema(migration.sql, target.schema));
      return migration.version;
    });
  }
}

function refuseNewer(target: MigrationTarget, version: number): void {
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new StoreUnavailableError(
      `PostgreSQL schema "${target.schema}" at ${target.location} has version ${version}, newer than this queuectl understands (${POSTGRES_SCHEMA_VERSION}); upgrade queuectl`,
    );
  }
}
