import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 3,
  name: "the job lifecycle as functions",
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

      -- The guarded report of an attempt (nothing when the worker no longer holds the job), then its dependents.
      -- promoted: how many dependents became pending.
      CREATE FUNCTION @schema.finish_job(
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
        UPDATE @schema.workers
           SET state = CASE WHEN state = 'busy' THEN 'idle' ELSE state END, current_job = NULL, last_heartbeat = now_ms
         WHERE id = p_worker_id;

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

      -- Claims the due job with the highest priority, earliest run_at, oldest (other workers' locked rows skipped),
      -- records the attempt and marks the worker busy. The job row as json, or null when nothing is due.
      CREATE FUNCTION @schema.claim_job(p_worker_id text, p_lease bigint, p_host text) RETURNS json LANGUAGE plpgsql VOLATILE AS $fn$
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
        ), worker AS (
          UPDATE @schema.workers SET state = 'busy', current_job = claimed.id, last_heartbeat = now_ms
            FROM claimed
           WHERE workers.id = p_worker_id
        )
        SELECT row_to_json(claimed) INTO v_job FROM claimed;
        RETURN v_job;
      END
      $fn$;

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
};
