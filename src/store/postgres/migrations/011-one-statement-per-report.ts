import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 11,
  name: 'each report of a batch written by one statement',
  sql: `
      -- finish_jobs_and_claim (migration 9) called finish_job once per attempt and then looked up which ended jobs were
      -- awaited: per report, four statements and a nested call before the claim, and the look-up, re-planned on every
      -- call, walked the table when its statistics were stale. Measured (pg_stat_statements, one job per report): 530
      -- us of server time per report, 240 of them before the claim. Now each report is one statement: the job row and
      -- its attempt are updated together, and the updated row says whether anyone awaits its end and whether its
      -- queue is limited. Dependents cost one index probe when there are none. (One statement for the whole batch,
      -- with = ANY(array), was re-planned on every call or, generic, scanned jobs_state: slower than this.) Same
      -- arguments, same results: workers of migration 9 or 10 call this one. finish_job stays for finish_and_claim
      -- (migration 8).
      CREATE OR REPLACE FUNCTION @schema.finish_jobs_and_claim(
        p_states text[], p_uncounted integer[], p_delays bigint[], p_errors text[], p_exit_codes integer[],
        p_job_ids text[], p_worker_id text, p_attempts integer[], p_outcomes text[], p_signals text[],
        p_lease bigint, p_host text, p_limit integer, p_queues text[]
      ) RETURNS TABLE (applied boolean[], promoted integer, wake boolean, ended_watched boolean, jobs json)
        LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        now_ms     bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_applied  boolean[] := array_fill(false, ARRAY[cardinality(p_job_ids)]);
        v_promoted integer := 0;
        v_moved    integer;
        v_freed    text[] := '{}';
        v_limited  boolean;
        v_watched  boolean := false;
        v_queue    text;
        v_awaited  boolean;
        v_claim    record;
        v_state    text;
        v_id       text;
        i          integer;
      BEGIN
        -- In job id order, as heartbeats and cancels lock job rows: no lock cycle with them.
        FOR i IN SELECT t.ord FROM unnest(p_job_ids) WITH ORDINALITY AS t(id, ord) ORDER BY t.id LOOP
          v_id := p_job_ids[i];
          v_state := p_states[i];
          -- The guarded report (nothing when the worker no longer holds the job) and its attempt's end, together.
          WITH finished AS (
            UPDATE @schema.jobs
               SET state = v_state,
                   attempts = attempts - p_uncounted[i],
                   run_at = CASE WHEN v_state = 'failed' THEN now_ms + p_delays[i] WHEN v_state = 'pending' THEN now_ms ELSE run_at END,
                   finished_at = CASE WHEN v_state IN ('completed', 'dead', 'cancelled') THEN now_ms END,
                   worker_id = NULL, lease_expires_at = NULL, cancel_signal = NULL,
                   last_error = p_errors[i], exit_code = p_exit_codes[i], updated_at = now_ms
             WHERE id = v_id AND state = 'processing' AND worker_id = p_worker_id AND runs = p_attempts[i]
            RETURNING end_watched, (SELECT q.concurrency IS NOT NULL FROM @schema.queues q WHERE q.name = jobs.queue) AS limited, queue
          ), closed AS (
            UPDATE @schema.attempts
               SET finished_at = now_ms, outcome = p_outcomes[i], exit_code = p_exit_codes[i], signal = p_signals[i], error = p_errors[i]
             WHERE job_id = v_id AND attempt = p_attempts[i] AND EXISTS (SELECT 1 FROM finished)
          )
          SELECT end_watched, limited, queue INTO v_awaited, v_limited, v_queue FROM finished;
          CONTINUE WHEN NOT FOUND;
          v_applied[i] := true;
          IF v_limited THEN
            v_freed := v_freed || v_queue;
          END IF;
          IF v_state IN ('completed', 'dead', 'cancelled') AND v_awaited THEN
            v_watched := true;
          END IF;
          IF v_state = 'completed' THEN
            -- Dependents (an index probe when there are none): lock those waiting in id order first, so two
            -- dependencies finishing at once take turns and the second sees the first completed; then those whose
            -- every dependency has completed become pending. Purged dependencies count as done.
            PERFORM 1 FROM @schema.jobs
              WHERE state = 'waiting' AND id IN (SELECT job_id FROM @schema.job_deps WHERE depends_on = v_id)
              ORDER BY id FOR UPDATE;
            IF FOUND THEN
              UPDATE @schema.jobs SET state = 'pending', updated_at = now_ms
               WHERE state = 'waiting'
                 AND id IN (SELECT job_id FROM @schema.job_deps WHERE depends_on = v_id)
                 AND NOT EXISTS (SELECT 1 FROM @schema.job_deps d JOIN @schema.jobs dep ON dep.id = d.depends_on
                                  WHERE d.job_id = jobs.id AND dep.state <> 'completed');
              GET DIAGNOSTICS v_moved = ROW_COUNT;
              v_promoted := v_promoted + v_moved;
            END IF;
          ELSIF v_state IN ('dead', 'cancelled') THEN
            PERFORM @schema.cancel_dependents(v_id, v_state);
          END IF;
        END LOOP;
        IF NOT (true = ANY(v_applied)) THEN
          RETURN QUERY SELECT v_applied, 0, false, false, NULL::json;
          RETURN;
        END IF;

        IF p_limit > 0 THEN
          SELECT * INTO v_claim FROM @schema.claim_jobs(p_worker_id, p_lease, p_host, p_limit, p_queues);
        ELSE
          SELECT NULL::json AS claimed_jobs, false AS leftover INTO v_claim;
        END IF;
        RETURN QUERY SELECT v_applied, v_promoted,
          v_claim.leftover
            OR EXISTS (SELECT 1 FROM unnest(v_freed) AS f(queue)
                        WHERE NOT EXISTS (SELECT 1 FROM json_array_elements(coalesce(v_claim.claimed_jobs, '[]'::json)) e
                                           WHERE e->>'queue' = f.queue)),
          v_watched, v_claim.claimed_jobs;
      END
      $fn$;
  `,
};
