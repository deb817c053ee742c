/**
 * Every SQL statement of the SQLite store, one named constant per unit of work, with bound parameters only.
 * Times are epoch milliseconds passed in as @now from the store's clock.
 */

export const INSERT_JOB = `
  INSERT INTO jobs (id, command, queue, state, max_retries, priority, run_at, timeout, cwd, env, depends_on,
                    created_at, updated_at, finished_at, last_error)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

export const INSERT_DEP = `INSERT OR IGNORE INTO job_deps (job_id, depends_on) VALUES (?, ?)`;

export const GET_JOB = `SELECT * FROM jobs WHERE id = ?`;
export const GET_JOB_STATE = `SELECT state FROM jobs WHERE id = ?`;
export const GET_JOBS = `SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?))`;

export const LIST_JOBS = `
  SELECT * FROM jobs WHERE (@command IS NULL OR instr(command, @command) > 0) AND (@queue IS NULL OR queue = @queue)
   ORDER BY created_at DESC, rowid DESC LIMIT @limit OFFSET @offset`;
export const LIST_JOBS_IN_STATE = `
  SELECT *, rowid AS seq FROM jobs
   WHERE state = @state AND (@command IS NULL OR instr(command, @command) > 0) AND (@queue IS NULL OR queue = @queue)
   ORDER BY created_at DESC, rowid DESC LIMIT @limit`;

export const COUNT_JOBS = `SELECT state, count(*) AS n FROM jobs GROUP BY state`;
/** Named index: without it the planner may walk jobs_state through every pending job (0.5 s at a million). */
export const OLDEST_PENDING = `
  SELECT (SELECT min(run_at) FROM jobs INDEXED BY jobs_pending_run_at WHERE state = 'pending' AND run_at <= @now) AS at,
         (SELECT min(run_at) FROM jobs INDEXED BY jobs_pending_run_at WHERE state = 'pending' AND run_at > @now) AS next`;

export const LIST_ATTEMPTS = `SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt`;
export const READ_OUTPUT = `SELECT seq, stream, data FROM job_output WHERE job_id = ? AND attempt = ? AND seq > ? ORDER BY seq`;

const TAKE_JOB = `
  UPDATE jobs
     SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = @workerId,
         lease_expires_at = @now + @leaseMs, updated_at = @now, cancel_signal = NULL`;
const RUNNABLE = `
  SELECT id FROM jobs INDEXED BY jobs_runnable
   WHERE state IN ('pending', 'failed') AND run_at <= @now`;
const CLAIM_ORDER = `ORDER BY priority DESC, run_at, created_at, rowid`;

/**
 * The claim's fast path (every queue, none paused or limited): one statement picks the best due jobs and takes them;
 * the caller's IMMEDIATE transaction makes it atomic. INDEXED BY: left alone the planner prefers jobs_state and sorts
 * every runnable job on each claim. One job takes `id = (...)`: measured here, `id IN (... LIMIT 1)` costs three
 * times as much (80 us against 25 us), while for several jobs the IN form is the cheaper one. RETURNING gives no
 * order: the caller sorts (seq is the rowid).
 */
export const CLAIM_ONE_JOB = `${TAKE_JOB} WHERE id = (${RUNNABLE} ${CLAIM_ORDER} LIMIT 1) RETURNING *, rowid AS seq`;
export const CLAIM_JOBS = `${TAKE_JOB} WHERE id IN (${RUNNABLE} ${CLAIM_ORDER} LIMIT @limit) RETURNING *, rowid AS seq`;

/**
 * The claim's walk when some queue is paused or limited: the due jobs of every queue in claim order. The caller
 * passes over the jobs of queues that may start nothing more, up to a point (see claim.ts).
 */
export const WALK_RUNNABLE = `
  SELECT rowid AS seq, queue, priority, run_at, created_at FROM jobs INDEXED BY jobs_runnable
   WHERE state IN ('pending', 'failed') AND run_at <= @now
   ${CLAIM_ORDER}`;
/** One queue's best due jobs, in claim order, from the index alone. */
export const RUNNABLE_OF_QUEUE = `
  SELECT rowid AS seq, queue, priority, run_at, created_at FROM jobs INDEXED BY jobs_queue_runnable
   WHERE queue = @queue AND state IN ('pending', 'failed') AND run_at <= @now
   ${CLAIM_ORDER} LIMIT @limit`;
/** The queues that have runnable jobs (due or not): one index seek per queue. */
export const RUNNABLE_QUEUES = `
  WITH RECURSIVE runnable(name) AS (
    SELECT (SELECT min(queue) FROM jobs INDEXED BY jobs_queue_runnable WHERE state IN ('pending', 'failed'))
    UNION ALL
    SELECT (SELECT min(queue) FROM jobs INDEXED BY jobs_queue_runnable WHERE state IN ('pending', 'failed') AND queue > runnable.name)
      FROM runnable WHERE runnable.name IS NOT NULL
  )
  SELECT name FROM runnable WHERE name IS NOT NULL`;
/** The fast path of a worker serving one queue (not paused, not limited): that queue's best due jobs, taken at once. */
const OF_QUEUE = `
  SELECT rowid FROM jobs INDEXED BY jobs_queue_runnable
   WHERE queue = @queue AND state IN ('pending', 'failed') AND run_at <= @now ${CLAIM_ORDER}`;
export const CLAIM_ONE_JOB_OF_QUEUE = `${TAKE_JOB} WHERE rowid = (${OF_QUEUE} LIMIT 1) RETURNING *, rowid AS seq`;
export const CLAIM_JOBS_OF_QUEUE = `${TAKE_JOB} WHERE rowid IN (${OF_QUEUE} LIMIT @limit) RETURNING *, rowid AS seq`;
/** Takes one job a walk chose. */
export const CLAIM_JOB_AT = `${TAKE_JOB} WHERE rowid = @seq AND state IN ('pending', 'failed') RETURNING *, rowid AS seq`;

export const INSERT_ATTEMPT = `
  INSERT INTO attempts (job_id, attempt, worker_id, host, started_at) VALUES (@jobId, @attempt, @workerId, @host, @now)`;

export const RECORD_ATTEMPT_PROCESS = `
  UPDATE attempts SET pid = @pid, pid_start = @pidStart
   WHERE job_id = @jobId AND attempt = @attempt AND worker_id = @workerId`;

export const OUTPUT_NEXT_SEQ = `SELECT coalesce(max(seq), 0) + 1 AS seq FROM job_output WHERE job_id = ? AND attempt = ?`;
export const INSERT_OUTPUT = `INSERT INTO job_output (job_id, attempt, seq, stream, data) VALUES (?, ?, ?, ?, ?)`;
export const ADD_OUTPUT_BYTES = `
  UPDATE attempts SET output_bytes = output_bytes + @bytes WHERE job_id = @jobId AND attempt = @attempt
  RETURNING output_bytes`;
export const OLDEST_OUTPUT = `SELECT seq, data FROM job_output WHERE job_id = ? AND attempt = ? ORDER BY seq LIMIT 64`;
export const DELETE_OUTPUT_CHUNK = `DELETE FROM job_output WHERE job_id = ? AND attempt = ? AND seq = ?`;
export const REPLACE_OUTPUT_CHUNK = `UPDATE job_output SET data = ? WHERE job_id = ? AND attempt = ? AND seq = ?`;
export const MARK_OUTPUT_LOST = `UPDATE attempts SET output_truncated = 1 WHERE job_id = ? AND attempt = ?`;
export const MARK_OUTPUT_TRUNCATED = `
  UPDATE attempts SET output_truncated = 1, output_bytes = @bytes WHERE job_id = @jobId AND attempt = @attempt`;

/** Applies an attempt's end; the guard means a worker that lost its lease writes nothing. */
export const FINISH_JOB = `
  UPDATE jobs
     SET state = @state,
         attempts = attempts - @uncounted,
         run_at = CASE WHEN @state = 'failed' THEN @now + @delayMs WHEN @state = 'pending' THEN @now ELSE run_at END,
         finished_at = CASE WHEN @state IN ('completed', 'dead', 'cancelled') THEN @now ELSE NULL END,
         worker_id = NULL, lease_expires_at = NULL, cancel_signal = NULL,
         last_error = @error, exit_code = @exitCode, updated_at = @now
   WHERE id = @jobId AND state = 'processing' AND worker_id = @workerId AND runs = @attempt
  RETURNING (SELECT concurrency FROM queues WHERE name = jobs.queue) AS queue_limit`;

/** recordLateResult: the real end of an attempt a reaper closed as worker_lost. */
export const RECORD_LATE_RESULT = `
  UPDATE attempts SET outcome = @outcome, exit_code = @exitCode, signal = @signal, error = @error
   WHERE job_id = @jobId AND attempt = @attempt AND worker_id = @workerId AND outcome = 'worker_lost'`;

export const FINISH_ATTEMPT = `
  UPDATE attempts SET finished_at = @now, outcome = @outcome, exit_code = @exitCode, signal = @signal, error = @error
   WHERE job_id = @jobId AND attempt = @attempt`;

/** Waiting jobs whose every dependency has now completed become pending. Purged dependencies count as done. */
export const PROMOTE_DEPENDENTS = `
  UPDATE jobs SET state = 'pending', updated_at = @now
   WHERE state = 'waiting'
     AND id IN (SELECT job_id FROM job_deps WHERE depends_on = @jobId)
     AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs dep ON dep.id = d.depends_on
                      WHERE d.job_id = jobs.id AND dep.state <> 'completed')`;

/** Everything downstream of a dead or cancelled job that is still waiting ends cancelled. */
export const CANCEL_DEPENDENTS = `
  WITH RECURSIVE downstream(id) AS (
    SELECT job_id FROM job_deps WHERE depends_on = @jobId
    UNION
    SELECT d.job_id FROM job_deps d JOIN downstream ON d.depends_on = downstream.id
  )
  UPDATE jobs SET state = 'cancelled', last_error = @reason, finished_at = @now, updated_at = @now
   WHERE state = 'waiting' AND id IN (SELECT id FROM downstream)
  RETURNING id`;

export const INSERT_FINISH_HOOK = `
  INSERT INTO finish_hooks (job_id, state, exit_code, created_at) VALUES (@jobId, @state, @exitCode, @now)
  ON CONFLICT (job_id) DO NOTHING`;
export const ANY_FINISH_HOOK = `SELECT EXISTS (SELECT 1 FROM finish_hooks) AS found`;
export const TAKE_FINISH_HOOKS = `
  DELETE FROM finish_hooks WHERE job_id IN (SELECT job_id FROM finish_hooks ORDER BY created_at LIMIT ?)
  RETURNING job_id, state, exit_code`;

/**
 * When the next job runnable later is due: a pending one from jobs_pending_run_at (one seek), a failed one (retries,
 * few) from jobs_state. `OF_QUEUES`: only of @queues (JSON; all when null), leaving out @excluded (paused, or at
 * their concurrency limit).
 */
function nextRunAtStatement(filtered: boolean): string {
  const filter = filtered
    ? `AND (@queues IS NULL OR queue IN (SELECT value FROM json_each(@queues))) AND queue NOT IN (SELECT value FROM json_each(@excluded))`
    : '';
  return `
  SELECT min(at) AS at FROM (
    SELECT (SELECT run_at FROM jobs INDEXED BY jobs_pending_run_at WHERE state = 'pending' AND run_at > @now ${filter}
             ORDER BY run_at LIMIT 1) AS at
    UNION ALL
    SELECT (SELECT min(run_at) FROM jobs INDEXED BY jobs_state WHERE state = 'failed' AND run_at > @now ${filter}))`;
}
export const NEXT_RUN_AT = nextRunAtStatement(false);
export const NEXT_RUN_AT_OF_QUEUES = nextRunAtStatement(true);

export const UPSERT_WORKER = `
  INSERT INTO workers (id, host, pid, pid_start, state, started_at, last_heartbeat, concurrency, queues)
  VALUES (@id, @host, @pid, @pidStart, 'idle', @now, @now, @concurrency, @queues)
  ON CONFLICT (id) DO UPDATE SET last_heartbeat = @now, concurrency = @concurrency, queues = @queues`;

export const WORKER_HEARTBEAT = `
  UPDATE workers SET last_heartbeat = @now, state = @state WHERE id = @workerId
  RETURNING stop_request`;

/** Renews the leases of every job of @jobIds (JSON) the worker still holds; what it returns is what it holds. */
export const RENEW_LEASES = `
  UPDATE jobs SET lease_expires_at = @now + @leaseMs
   WHERE id IN (SELECT value FROM json_each(@jobIds)) AND state = 'processing' AND worker_id = @workerId
  RETURNING id, cancel_signal`;

/**
 * A worker's jobs and busy/idle state are read from the jobs it holds, not kept on its row: a claim and a finish then
 * write one row less, and the answer is never stale. The jobs come from RUNNING_JOBS, read once for every worker
 * (one pass over the processing jobs, not one per worker); a worker with any is busy unless stopping.
 */
export const LIST_WORKERS = `
  SELECT id, host, pid, pid_start, started_at, last_heartbeat, stop_request, concurrency, queues, NULL AS running_jobs,
         CASE WHEN state = 'stopping' OR stop_request IS NOT NULL THEN 'stopping' ELSE 'idle' END AS state,
         last_heartbeat < @now - @staleAfterMs AS heartbeat_expired
    FROM workers
   ORDER BY host, started_at, id`;
/** Every processing job and its worker, oldest claim (its attempt's start) first. */
export const RUNNING_JOBS = `
  SELECT j.worker_id, j.id FROM jobs j JOIN attempts a ON a.job_id = j.id AND a.attempt = j.runs
   WHERE j.state = 'processing' ORDER BY a.started_at, j.rowid`;
export const DELETE_WORKER = `DELETE FROM workers WHERE id = ?`;

export const REQUEST_STOP = `
  UPDATE workers SET stop_request = CASE WHEN stop_request = 'kill' THEN 'kill' ELSE @mode END,
                     state = 'stopping'
   WHERE (@host IS NULL OR host = @host)
  RETURNING id`;

export const LIST_LEASES = `
  SELECT j.id AS job_id, j.runs AS attempt, j.attempts, j.max_retries, j.worker_id,
         j.lease_expires_at < @now AS lease_expired,
         a.host, a.pid, a.pid_start,
         w.host AS worker_host, w.pid AS worker_pid, w.pid_start AS worker_pid_start
    FROM jobs j
    JOIN attempts a ON a.job_id = j.id AND a.attempt = j.runs
    LEFT JOIN workers w ON w.id = j.worker_id
   WHERE j.state = 'processing'`;

export const RETRY_JOB = `
  UPDATE jobs SET state = 'pending', attempts = 0, run_at = @now, finished_at = NULL, last_error = NULL,
                  exit_code = NULL, updated_at = @now
   WHERE id = @id AND (state IN ('dead', 'cancelled') OR (@includeCompleted AND state = 'completed'))`;
export const LIST_DEAD_IDS = `SELECT id FROM jobs WHERE state = 'dead' ORDER BY created_at, rowid`;

export const CANCEL_QUEUED_JOB = `
  UPDATE jobs SET state = 'cancelled', last_error = @reason, finished_at = @now, updated_at = @now
   WHERE id = @id AND state IN ('waiting', 'pending', 'failed')
  RETURNING id`;
export const FLAG_CANCEL = `
  UPDATE jobs SET cancel_signal = @signal, updated_at = @now WHERE id = @id AND state = 'processing'`;

export const SELECT_FINISHED_BEFORE = `
  SELECT id FROM jobs WHERE state = @state AND finished_at <= @before AND (@queue IS NULL OR queue = @queue)
   ORDER BY finished_at LIMIT @limit`;
export const DELETE_JOB = `DELETE FROM jobs WHERE id = ?`;
export const DELETE_JOB_ATTEMPTS = `DELETE FROM attempts WHERE job_id = ?`;
export const DELETE_JOB_OUTPUT = `DELETE FROM job_output WHERE job_id = ?`;
export const DELETE_JOB_DEPS = `DELETE FROM job_deps WHERE job_id = ?`;

export const GET_CONFIG = `SELECT key, value FROM config`;
export const SET_CONFIG = `INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
export const UNSET_CONFIG = `DELETE FROM config WHERE key = ?`;
