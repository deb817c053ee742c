/**
 * Every SQL statement of the PostgreSQL store, one named constant per unit of work, with bound parameters only.
 * `@schema` stands for the quoted schema; `withSchema` substitutes it once when the store opens.
 * Times are bigint epoch milliseconds, always computed from the database's `now()` (NOW_MS), never the Node clock:
 * within one transaction `now()` is constant, so every statement of a transaction sees the same instant.
 */

/** The database's clock in epoch milliseconds. */
const NOW_MS = `floor(extract(epoch FROM now()) * 1000)::bigint`;

/** A simple identifier: it names the schema and, prefixed, the wake-up channel (63 bytes at most). */
export const SCHEMA_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,53}$/;

/** Replaces `@schema` with the quoted schema name; `schema` must match SCHEMA_NAME_PATTERN. */
export function withSchema(sql: string, schema: string): string {
  if (!SCHEMA_NAME_PATTERN.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  return sql.replace(/@schema\b/g, `"${schema}"`);
}

/** Every statement below with the schema substituted, keyed by its name. */
export type Queries = { readonly [K in keyof typeof STATEMENTS]: string };

export function compileQueries(schema: string): Queries {
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(STATEMENTS)) out[name] = withSchema(sql, schema);
  return out as Queries;
}

const STATEMENTS = {
  // --- Migrations: run under the advisory lock, before any numbered migration ---------------------------------------

  /** Serializes migrators of one schema; released when the transaction ends. $1: a key naming the schema. */
  MIGRATION_LOCK: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
  CREATE_SCHEMA: `CREATE SCHEMA IF NOT EXISTS @schema`,
  CREATE_MIGRATIONS_TABLE: `
    CREATE TABLE IF NOT EXISTS @schema.schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`,
  /** The applied version; fails with undefined_table (or invalid_schema_name) before the first migration. */
  SCHEMA_VERSION: `SELECT coalesce(max(version), 0) AS version FROM @schema.schema_migrations`,
  RECORD_MIGRATION: `INSERT INTO @schema.schema_migrations (version, name) VALUES ($1, $2)`,

  // --- Time and wake-ups --------------------------------------------------------------------------------------------

  NOW: `SELECT ${NOW_MS} AS now`,
  /** $1: the channel. Inside a transaction the notification goes out only if it commits. */
  NOTIFY: `SELECT pg_notify($1, '')`,

  // --- Jobs ---------------------------------------------------------------------------------------------------------

  /**
   * Which of a batch's ids and dependencies exist, and their states, share-locked so none can finish or vanish
   * before the enqueue commits. $1: ids.
   */
  LOCK_KNOWN_STATES: `SELECT id, state FROM @schema.jobs WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`,

  /**
   * Inserts a batch of jobs from parallel arrays, in array order. Returns only the ids that were not inserted
   * because they exist (usually none: a bulk enqueue reads nothing back). The batch holds no repeated ids.
   */
  INSERT_JOBS: `
    WITH batch AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[],
                           $8::text[], $9::text[], $10::text[], $12::text[], $13::text[])
                    WITH ORDINALITY AS b(id, command, state, max_retries, priority, run_at, timeout, cwd, env, depends_on,
                                         last_error, queue, ord)
    ), inserted AS (
      INSERT INTO @schema.jobs (id, command, state, max_retries, priority, run_at, timeout, cwd, env, depends_on,
                                created_at, updated_at, finished_at, last_error, queue)
      SELECT id, command, state, max_retries, priority, run_at, timeout, cwd, env, depends_on,
             $11::bigint, $11::bigint, CASE WHEN state = 'cancelled' THEN $11::bigint END, last_error, queue
        FROM batch ORDER BY ord
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    )
    SELECT id FROM batch WHERE id NOT IN (SELECT id FROM inserted)`,

  /** $1: job ids, $2: the ids each depends on (parallel arrays). */
  INSERT_DEPS: `
    INSERT INTO @schema.job_deps (job_id, depends_on)
    SELECT * FROM unnest($1::text[], $2::text[])
    ON CONFLICT DO NOTHING`,

  GET_JOB: `SELECT * FROM @schema.jobs WHERE id = $1`,
  GET_JOBS: `SELECT * FROM @schema.jobs WHERE id = ANY($1::text[])`,
  /**
   * Newest first across the states $1: each state's newest $2 from jobs_state, merged, so a huge state is never
   * sorted. Listing every job passes every state (one index less to maintain on each insert). $5: a queue, or null.
   */
  LIST_JOBS_IN_STATES: `
    SELECT j.* FROM unnest($1::text[]) AS wanted(state)
      CROSS JOIN LATERAL (
        SELECT * FROM @schema.jobs
         WHERE state = wanted.state AND ($3::text IS NULL OR strpos(command, $3) > 0) AND ($5::text IS NULL OR queue = $5)
         ORDER BY created_at DESC, seq DESC LIMIT $2::bigint + $4::bigint) j
     ORDER BY j.created_at DESC, j.seq DESC LIMIT $2 OFFSET $4`,

  COUNT_JOBS: `SELECT state, count(*) AS n FROM @schema.jobs GROUP BY state`,
  OLDEST_PENDING: `
    SELECT (SELECT min(run_at) FROM @schema.jobs WHERE state = 'pending' AND run_at <= n.now) AS at,
           (SELECT min(run_at) FROM @schema.jobs WHERE state = 'pending' AND run_at > n.now) AS next, n.now
      FROM (SELECT ${NOW_MS} AS now) n`,

  LIST_ATTEMPTS: `SELECT * FROM @schema.attempts WHERE job_id = $1 ORDER BY attempt`,
  READ_OUTPUT: `
    SELECT seq, stream, data FROM @schema.job_output WHERE job_id = $1 AND attempt = $2 AND seq > $3 ORDER BY seq`,

  // --- Worker side --------------------------------------------------------------------------------------------------

  /**
   * Claims up to $4 due jobs of the queues $5 (null: all) for worker $1 with a lease of $2 ms, on host $3 (function
   * of migration 7): a json array in claim order, or null; and wakes idle workers on the channel $6 when the claim
   * left rows it locked untaken.
   */
  CLAIM_JOBS: `
    SELECT claimed_jobs AS jobs, CASE WHEN leftover THEN pg_notify($6, '') END AS notified
      FROM @schema.claim_jobs($1, $2, $3, $4, $5::text[])`,

  /**
   * A worker's reports of one or more attempts and the claim of its next jobs (none when $13 is 0), in one call
   * (function of migration 11), and in the same statement the wake-up it calls for (dependents became runnable, a slot
   * of a limited queue was freed, rows were left locked) and, when a job someone waits for ended, its end.
   * $1..$10: finish_job's arguments as parallel arrays but $7, the worker; $11: lease ms; $12: host; $13: limit;
   * $14: queues; $15: the channel; $16: the ends' channel.
   */
  FINISH_JOBS_AND_CLAIM: `
    SELECT applied, jobs, CASE WHEN promoted > 0 OR wake THEN pg_notify($15, '') END AS notified,
           CASE WHEN ended_watched THEN pg_notify($16, '') END AS ended
      FROM @schema.finish_jobs_and_claim($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::integer[], $6::text[], $7,
                                         $8::integer[], $9::text[], $10::text[], $11, $12, $13, $14::text[])`,

  /** Asks for the ends of the jobs $1 to be announced (see FINISH_JOBS_AND_CLAIM). */
  WATCH_ENDS: `UPDATE @schema.jobs SET end_watched = true WHERE id = ANY($1::text[]) AND NOT end_watched`,

  /** $1: job, $2: attempt, $3: worker, $4: pid, $5: pid start. */
  RECORD_ATTEMPT_PROCESS: `
    UPDATE @schema.attempts SET pid = $4, pid_start = $5 WHERE job_id = $1 AND attempt = $2 AND worker_id = $3`,

  /** Counts new output bytes; also locks the attempt row, so chunk numbering below cannot race. $1: bytes. */
  ADD_OUTPUT_BYTES: `
    UPDATE @schema.attempts SET output_bytes = output_bytes + $1 WHERE job_id = $2 AND attempt = $3
    RETURNING output_bytes`,
  OUTPUT_NEXT_SEQ: `SELECT coalesce(max(seq), 0) + 1 AS seq FROM @schema.job_output WHERE job_id = $1 AND attempt = $2`,
  /** $3: the first seq; $4/$5: streams and data of the chunks, numbered in order. */
  INSERT_OUTPUT: `
    INSERT INTO @schema.job_output (job_id, attempt, seq, stream, data)
    SELECT $1, $2, $3 + ord::integer - 1, stream, data
      FROM unnest($4::text[], $5::bytea[]) WITH ORDINALITY AS chunk(stream, data, ord)`,
  OLDEST_OUTPUT: `SELECT seq, data FROM @schema.job_output WHERE job_id = $1 AND attempt = $2 ORDER BY seq LIMIT 64`,
  DELETE_OUTPUT_CHUNK: `DELETE FROM @schema.job_output WHERE job_id = $1 AND attempt = $2 AND seq = $3`,
  REPLACE_OUTPUT_CHUNK: `UPDATE @schema.job_output SET data = $4 WHERE job_id = $1 AND attempt = $2 AND seq = $3`,
  RECORD_LATE_RESULT: `UPDATE @schema.attempts SET outcome = $5, exit_code = $6, signal = $7, error = $8
                        WHERE job_id = $1 AND attempt = $2 AND worker_id = $3 AND outcome = $4`,
  MARK_OUTPUT_LOST: `UPDATE @schema.attempts SET output_truncated = true WHERE job_id = $1 AND attempt = $2`,
  MARK_OUTPUT_TRUNCATED: `
    UPDATE @schema.attempts SET output_truncated = true, output_bytes = $3 WHERE job_id = $1 AND attempt = $2`,

  /** Cancels what waits downstream of $1, which ended $2 (function of migration 3). */
  CANCEL_DEPENDENTS: `SELECT @schema.cancel_dependents($1, $2)`,

  /**
   * When an idle worker serving the queues $1 (null: all) should look again: the earliest run_at not yet due (pending
   * jobs through jobs_pending_run_at; retries apart), or the next start a rate-limited queue with due jobs allows.
   * Paused queues and queues at their limit are left out: resuming and a freed slot notify instead.
   */
  NEXT_RUN_AT: `
    WITH held AS (
      SELECT name FROM @schema.queues q
       WHERE paused OR concurrency <= (SELECT count(*) FROM @schema.jobs j WHERE j.queue = q.name AND j.state = 'processing')
    )
    SELECT least(
      (SELECT min(run_at) FROM @schema.jobs
        WHERE state = 'pending' AND run_at > ${NOW_MS}
          AND ($1::text[] IS NULL OR queue = ANY($1::text[])) AND queue NOT IN (SELECT name FROM held)),
      (SELECT min(run_at) FROM @schema.jobs
        WHERE state = 'failed' AND run_at > ${NOW_MS}
          AND ($1::text[] IS NULL OR queue = ANY($1::text[])) AND queue NOT IN (SELECT name FROM held)),
      (SELECT min(greatest(q.rate_next_at, s.started_at + q.rate_period_ms,
                           ceil(l.started_at + q.rate_period_ms::float8 / q.rate_count / 2)::bigint))
         FROM @schema.queues q
         LEFT JOIN @schema.queue_starts s ON s.queue = q.name AND s.slot = q.rate_slot % q.rate_count
         LEFT JOIN @schema.queue_starts l ON l.queue = q.name AND q.rate_slot > 0 AND l.slot = (q.rate_slot - 1) % q.rate_count
        WHERE q.rate_count IS NOT NULL AND q.name NOT IN (SELECT name FROM held)
          AND ($1::text[] IS NULL OR q.name = ANY($1::text[]))
          AND EXISTS (SELECT 1 FROM @schema.jobs j
                       WHERE j.queue = q.name AND j.state IN ('pending', 'failed') AND j.run_at <= ${NOW_MS}))
    ) AS at`,

  // --- Workers ------------------------------------------------------------------------------------------------------

  /** $1: id, $2: host, $3: pid, $4: pid start, $5: concurrency, $6: queues (JSON text, or null for all). */
  UPSERT_WORKER: `
    INSERT INTO @schema.workers (id, host, pid, pid_start, state, started_at, last_heartbeat, concurrency, queues)
    VALUES ($1, $2, $3, $4, 'idle', ${NOW_MS}, ${NOW_MS}, $5, $6)
    ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat, concurrency = excluded.concurrency, queues = excluded.queues`,

  /**
   * The heartbeat in one statement: renews the leases of the jobs the worker still holds among $3, and marks the
   * worker alive. It locks the job rows (in id order, as a cancel does) before the worker row; claims and finishes
   * lock no worker row, so none deadlock. $1: worker, $2: worker state, $3: job ids, $4: lease ms.
   * lost: the ids of $3 not renewed; cancels: [{jobId, signal}] of the renewed ones a cancel flagged, or null.
   */
  HEARTBEAT: `
    WITH held AS (
      SELECT id FROM @schema.jobs WHERE id = ANY($3::text[]) AND state = 'processing' AND worker_id = $1 ORDER BY id FOR UPDATE
    ), lease AS (
      UPDATE @schema.jobs SET lease_expires_at = ${NOW_MS} + $4::bigint
       WHERE id IN (SELECT id FROM held) AND state = 'processing' AND worker_id = $1
      RETURNING id, cancel_signal
    ), worker AS (
      UPDATE @schema.workers SET last_heartbeat = ${NOW_MS}, state = $2
       WHERE id = $1 AND (SELECT count(*) FROM lease) >= 0  -- always true: makes the lease update run first
      RETURNING stop_request
    )
    SELECT (SELECT stop_request FROM worker) AS stop_request,
           EXISTS (SELECT 1 FROM worker) AS registered,
           ARRAY(SELECT unnest($3::text[]) EXCEPT SELECT id FROM lease) AS lost,
           (SELECT json_agg(json_build_object('jobId', id, 'signal', cancel_signal) ORDER BY id)
              FROM lease WHERE cancel_signal IS NOT NULL) AS cancels`,

  /**
   * $1: stale after ms. A worker's jobs (oldest claim first) and busy/idle state are read from the jobs it holds (as
   * on SQLite).
   */
  LIST_WORKERS: `
    SELECT w.id, w.host, w.pid, w.pid_start, w.started_at, w.last_heartbeat, w.stop_request, w.concurrency, w.queues,
           held.ids AS running_jobs,
           CASE WHEN w.state = 'stopping' OR w.stop_request IS NOT NULL THEN 'stopping'
                WHEN held.ids IS NOT NULL THEN 'busy' ELSE 'idle' END AS state,
           w.last_heartbeat < ${NOW_MS} - $1::bigint AS heartbeat_expired
      FROM @schema.workers w
      LEFT JOIN (
        SELECT j.worker_id, json_agg(j.id ORDER BY a.started_at, j.priority DESC, j.run_at, j.created_at, j.seq) AS ids
          FROM @schema.jobs j JOIN @schema.attempts a ON a.job_id = j.id AND a.attempt = j.runs
         WHERE j.state = 'processing'
         GROUP BY j.worker_id
      ) held ON held.worker_id = w.id
     ORDER BY w.host, w.started_at, w.id`,
  DELETE_WORKER: `DELETE FROM @schema.workers WHERE id = $1`,

  /** $1: mode, $2: host or null for every host. */
  REQUEST_STOP: `
    UPDATE @schema.workers SET stop_request = CASE WHEN stop_request = 'kill' THEN 'kill' ELSE $1 END, state = 'stopping'
     WHERE ($2::text IS NULL OR host = $2)
    RETURNING id`,

  LIST_LEASES: `
    SELECT j.id AS job_id, j.runs AS attempt, j.attempts, j.max_retries, j.worker_id,
           j.lease_expires_at < ${NOW_MS} AS lease_expired,
           a.host, a.pid, a.pid_start,
           w.host AS worker_host, w.pid AS worker_pid, w.pid_start AS worker_pid_start
      FROM @schema.jobs j
      JOIN @schema.attempts a ON a.job_id = j.id AND a.attempt = j.runs
      LEFT JOIN @schema.workers w ON w.id = j.worker_id
     WHERE j.state = 'processing'
     ORDER BY j.id`,

  // --- Operator actions ---------------------------------------------------------------------------------------------

  /** $1: ids; $2: completed jobs too. Returns those moved back to pending; their attempts stay. */
  RETRY_JOBS: `
    UPDATE @schema.jobs SET state = 'pending', attempts = 0, run_at = ${NOW_MS}, finished_at = NULL, last_error = NULL,
                            exit_code = NULL, updated_at = ${NOW_MS}
     WHERE id = ANY($1::text[]) AND (state IN ('dead', 'cancelled') OR ($2::boolean AND state = 'completed'))
    RETURNING id`,
  LOCK_DEAD_IDS: `SELECT id FROM @schema.jobs WHERE state = 'dead' ORDER BY created_at, seq FOR UPDATE`,
  /** States of the named jobs, locked for the cancel that follows. */
  LOCK_JOB_STATES: `SELECT id, state FROM @schema.jobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,

  /** Cancels a queued job and records it for the on-finish hook (see finish_hooks). $1: id, $2: reason. */
  CANCEL_QUEUED_JOB: `
    WITH cancelled AS (
      UPDATE @schema.jobs SET state = 'cancelled', last_error = $2, finished_at = ${NOW_MS}, updated_at = ${NOW_MS}
       WHERE id = $1 AND state IN ('waiting', 'pending', 'failed')
      RETURNING id
    )
    INSERT INTO @schema.finish_hooks (job_id, state, created_at) SELECT id, 'cancelled', ${NOW_MS} FROM cancelled
    ON CONFLICT (job_id) DO NOTHING`,
  /** Takes up to $1 finish hooks; concurrent takers skip each other's rows. */
  TAKE_FINISH_HOOKS: `
    DELETE FROM @schema.finish_hooks
     WHERE job_id IN (SELECT job_id FROM @schema.finish_hooks ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING job_id, state, exit_code`,
  /** $1: id, $2: signal. */
  FLAG_CANCEL: `UPDATE @schema.jobs SET cancel_signal = $2, updated_at = ${NOW_MS} WHERE id = $1 AND state = 'processing'`,

  /** $1: state, $2: older than ms, $3: at most this many, $4: only this queue (or null). */
  SELECT_FINISHED_BEFORE: `
    SELECT id FROM @schema.jobs WHERE state = $1 AND finished_at <= ${NOW_MS} - $2::bigint AND ($4::text IS NULL OR queue = $4)
     ORDER BY finished_at LIMIT $3 FOR UPDATE`,

  /** Deletes jobs and their history in one statement. $1: ids. */
  DELETE_JOBS: `
    WITH output AS (DELETE FROM @schema.job_output WHERE job_id = ANY($1::text[])),
         attempts AS (DELETE FROM @schema.attempts WHERE job_id = ANY($1::text[])),
         deps AS (DELETE FROM @schema.job_deps WHERE job_id = ANY($1::text[]))
    DELETE FROM @schema.jobs WHERE id = ANY($1::text[])`,

  // --- Config -------------------------------------------------------------------------------------------------------

  GET_CONFIG: `SELECT key, value FROM @schema.config`,
  SET_CONFIG: `INSERT INTO @schema.config (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  UNSET_CONFIG: `DELETE FROM @schema.config WHERE key = $1`,
} as const;
