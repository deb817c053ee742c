import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 9,
  name: 'finishes in batches; job ends announced only when awaited',
  sql: `
      -- Set by whoever waits for the job's end (Store.subscribeToEnds); the finish notifies the ends' channel only
      -- then. Every NOTIFY wakes every listening connection of the database, whatever its channel, so an end nobody
      -- awaits is not announced. A retried job keeps the flag: at worst one notification nobody needs.
      ALTER TABLE @schema.jobs ADD COLUMN end_watched boolean NOT NULL DEFAULT false;

      -- A worker's reports of several attempts (parallel arrays, one element per attempt, each guarded on its own by
      -- finish_job) and, unless p_limit is 0, when at least one applied, the claim of its next jobs, in one call: the
      -- jobs a worker's slots ended while its previous write was in flight share one transaction.
      -- applied: per attempt, in the order given. promoted: dependents that became pending. wake: a slot of a queue
      -- with a concurrency limit was freed and this claim did not refill that queue, or the claim left rows locked
      -- (see claim_jobs): idle workers should look. ended_watched: a job someone waits for ended.
      -- finish_and_claim (migration 8) stays for workers of the previous version during an upgrade.
      CREATE FUNCTION @schema.finish_jobs_and_claim(
        p_states text[], p_uncounted integer[], p_delays bigint[], p_errors text[], p_exit_codes integer[],
        p_job_ids text[], p_worker_id text, p_attempts integer[], p_outcomes text[], p_signals text[],
        p_lease bigint, p_host text, p_limit integer, p_queues text[]
      ) RETURNS TABLE (applied boolean[], promoted integer, wake boolean, ended_watched boolean, jobs json)
        LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_applied  boolean[] := array_fill(false, ARRAY[cardinality(p_job_ids)]);
        v_promoted integer := 0;
        v_freed    text[] := '{}';
        v_ended    text[] := '{}';
        v_watched  boolean := false;
        v_finish   record;
        v_claim    record;
        i          integer;
      BEGIN
        -- In job id order, as heartbeats and cancels lock job rows: no lock cycle with them.
        FOR i IN SELECT t.ord FROM unnest(p_job_ids) WITH ORDINALITY AS t(id, ord) ORDER BY t.id LOOP
          SELECT * INTO v_finish FROM @schema.finish_job(p_states[i], p_uncounted[i], p_delays[i], p_errors[i],
            p_exit_codes[i], p_job_ids[i], p_worker_id, p_attempts[i], p_outcomes[i], p_signals[i]);
          CONTINUE WHEN NOT v_finish.applied;
          v_applied[i] := true;
          v_promoted := v_promoted + v_finish.promoted;
          IF v_finish.queue_limited THEN
            v_freed := v_freed || v_finish.job_queue;
          END IF;
          IF p_states[i] IN ('completed', 'dead', 'cancelled') THEN
            v_ended := v_ended || p_job_ids[i];
          END IF;
        END LOOP;
        IF NOT (true = ANY(v_applied)) THEN
          RETURN QUERY SELECT v_applied, 0, false, false, NULL::json;
          RETURN;
        END IF;
        -- Read after the job rows were locked and updated above: a waiter's mark committed before our update is
        -- seen; one made after it waits for our commit, and its waiter then reads the job ended.
        IF cardinality(v_ended) > 0 THEN
          v_watched := EXISTS (SELECT 1 FROM @schema.jobs WHERE id = ANY(v_ended) AND end_watched);
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
