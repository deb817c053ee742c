import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 8,
  name: "a claim that leaves rows locked wakes idle workers",
  sql: `
      -- A claim of several queues locks each queue's share as it walks it, and rows of a share that did not make the
      -- claim's best stay locked until it commits: another claimer may have skipped them and found nothing. The claim
      -- now says so (leftover), and its caller wakes idle workers in the same statement.
      DROP FUNCTION @schema.finish_and_claim(text, integer, bigint, text, integer, text, text, integer, text, text, bigint, text, integer, text[]);
      DROP FUNCTION @schema.claim_jobs(text, bigint, text, integer, text[]);

      -- Claims up to p_limit due jobs of p_queues (null: every queue) by highest priority, earliest run_at, oldest
      -- (other claimers' locked rows skipped), and records their attempts. claimed_jobs: the job rows as a json array
      -- in claim order, or null when nothing may start; leftover: rows were locked and not taken (see below), so the
      -- caller wakes idle workers.
      --
      -- A queue is held when paused or restricted (a concurrency limit or a rate). With no held queue in play a claim
      -- of every queue is one statement walking jobs_runnable, and locks no queue. Otherwise:
      -- - a restricted queue with due jobs and, at a glance, room is locked (its settings row; all such rows in name
      --   order, held to commit), so its claimers take turns: each one's count of its running jobs sees the claims
      --   of those before it. Its share is its room under its limit, and one start when its rate allows;
      -- - every other queue the claim may take from (p_queues, or each queue with runnable jobs: one index seek
      --   each), unless held, may give up to p_limit;
      -- and one statement takes each queue's best share through jobs_queue_runnable, keeping the best p_limit: a
      -- paused or full queue's backlog ahead in claim order is never walked over. Shares are locked as they are
      -- walked (SKIP LOCKED must pass over rows other claimers are taking), so rows of a share that did not make the
      -- best p_limit stay locked to commit; another claimer may have skipped them and found nothing, hence leftover.
      -- Job rows are only ever taken with SKIP LOCKED, so a claim holding queue locks never waits: no lock cycle.
      --
      -- enable_sort = off: the claim must walk jobs_runnable (or jobs_queue_runnable) in order and stop at the limit.
      -- Right after a bulk enqueue the statistics still describe a tiny table, and a cached generic plan would sort
      -- every due job on every claim instead (measured: 5 times slower per claim). Sorts nothing can replace (the
      -- merge of the shares below) still happen, at a cost so high it would call in JIT compilation (measured: 0.9 s
      -- per claim): jit = off, which a claim never gains from anyway.
      CREATE FUNCTION @schema.claim_jobs(p_worker_id text, p_lease bigint, p_host text, p_limit integer, p_queues text[])
        RETURNS TABLE (claimed_jobs json, leftover boolean) LANGUAGE plpgsql VOLATILE SET enable_sort = off SET jit = off AS $fn$
      DECLARE
        now_ms    bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_clock   bigint;
        v_held    text[];
        v_lock    text[];
        v_names   text[];
        v_open    text[] := '{}';
        v_room    integer[] := '{}';
        v_started text[];
        v_room_q  integer;
        v_jobs    json;
        v_left    boolean;
        v_q       record;
      BEGIN
        SELECT array_agg(name) INTO v_held FROM @schema.queues
         WHERE (paused OR concurrency IS NOT NULL OR rate_count IS NOT NULL)
           AND (p_queues IS NULL OR name = ANY(p_queues));

        IF v_held IS NULL AND p_queues IS NULL THEN
          WITH claimed AS (
            UPDATE @schema.jobs
               SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = p_worker_id,
                   lease_expires_at = now_ms + p_lease, updated_at = now_ms, cancel_signal = NULL
             WHERE id = ANY(ARRAY(
                     SELECT id FROM @schema.jobs
                      WHERE state IN ('pending', 'failed') AND run_at <= now_ms
                      ORDER BY priority DESC, run_at, created_at, seq
                      LIMIT p_limit
                      FOR UPDATE SKIP LOCKED))
            RETURNING *
          ), attempt AS (
            INSERT INTO @schema.attempts (job_id, attempt, worker_id, host, started_at)
            SELECT id, runs, p_worker_id, p_host, now_ms FROM claimed
          )
          SELECT json_agg(row_to_json(c) ORDER BY c.priority DESC, c.run_at, c.created_at, c.seq) INTO v_jobs FROM claimed c;
          RETURN QUERY SELECT v_jobs, false;
          RETURN;
        END IF;

        IF v_held IS NOT NULL THEN
          -- The rate by the database's clock as it reads now, not the transaction's start: the ring's times follow
          -- the order in which claimers held the queue's lock.
          v_clock := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
          SELECT array_agg(name ORDER BY name) INTO v_lock FROM @schema.queues q
           WHERE name = ANY(v_held) AND NOT paused AND (concurrency IS NOT NULL OR rate_count IS NOT NULL)
             AND (rate_count IS NULL OR rate_next_at <= v_clock)
             AND (concurrency IS NULL
                  OR concurrency > (SELECT count(*) FROM @schema.jobs j WHERE j.queue = q.name AND j.state = 'processing'))
             AND EXISTS (SELECT 1 FROM @schema.jobs j
                          WHERE j.queue = q.name AND j.state IN ('pending', 'failed') AND j.run_at <= now_ms);
        END IF;

        IF v_lock IS NOT NULL THEN
          PERFORM 1 FROM @schema.queues WHERE name = ANY(v_lock) ORDER BY name FOR UPDATE;
          -- Read after the locks: every claimer that held them before us has committed, and its claims count here.
          v_clock := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
          FOR v_q IN SELECT * FROM @schema.queues WHERE name = ANY(v_lock) ORDER BY name LOOP
            CONTINUE WHEN v_q.paused;
            v_room_q := p_limit;
            IF v_q.concurrency IS NOT NULL THEN
              v_room_q := least(v_room_q, v_q.concurrency
                - (SELECT count(*) FROM @schema.jobs j WHERE j.queue = v_q.name AND j.state = 'processing')::integer);
            END IF;
            IF v_q.rate_count IS NOT NULL AND v_room_q > 0 THEN
              IF v_clock < v_q.rate_next_at OR EXISTS (
                   SELECT 1 FROM @schema.queue_starts s
                    WHERE s.queue = v_q.name AND s.slot = v_q.rate_slot % v_q.rate_count AND v_clock < s.started_at + v_q.rate_period_ms) THEN
                v_room_q := 0;
              ELSE
                v_room_q := 1;
              END IF;
            END IF;
            IF v_room_q > 0 THEN
              v_open := v_open || v_q.name;
              v_room := v_room || v_room_q;
            END IF;
          END LOOP;
        END IF;

        IF p_queues IS NOT NULL THEN
          SELECT array_agg(DISTINCT name) INTO v_names FROM unnest(p_queues) AS name;
        ELSE
          WITH RECURSIVE runnable(name) AS (
            SELECT (SELECT min(queue) FROM @schema.jobs WHERE state IN ('pending', 'failed'))
            UNION ALL
            SELECT (SELECT min(queue) FROM @schema.jobs WHERE state IN ('pending', 'failed') AND queue > runnable.name)
              FROM runnable WHERE runnable.name IS NOT NULL
          )
          SELECT array_agg(name) INTO v_names FROM runnable WHERE name IS NOT NULL;
        END IF;
        SELECT v_open || coalesce(array_agg(name), '{}'), v_room || coalesce(array_agg(p_limit), '{}')
          INTO v_open, v_room
          FROM unnest(v_names) AS name WHERE v_held IS NULL OR name <> ALL(v_held);
        IF cardinality(v_open) = 0 THEN
          RETURN QUERY SELECT NULL::json, false;
          RETURN;
        END IF;

        -- Each queue's best share, then the best p_limit of them.
        WITH shares AS (
          SELECT j.id, j.priority, j.run_at, j.created_at, j.seq
            FROM unnest(v_open, v_room) AS o(name, room)
           CROSS JOIN LATERAL (
                 SELECT id, priority, run_at, created_at, seq FROM @schema.jobs
                  WHERE queue = o.name AND state IN ('pending', 'failed') AND run_at <= now_ms
                  ORDER BY priority DESC, run_at, created_at, seq
                  LIMIT o.room
                  FOR UPDATE SKIP LOCKED) j
        ), picked AS (
          SELECT id FROM shares ORDER BY priority DESC, run_at, created_at, seq LIMIT p_limit
        ), claimed AS (
          UPDATE @schema.jobs
             SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = p_worker_id,
                 lease_expires_at = now_ms + p_lease, updated_at = now_ms, cancel_signal = NULL
           WHERE id IN (SELECT id FROM picked)
          RETURNING *
        ), attempt AS (
          INSERT INTO @schema.attempts (job_id, attempt, worker_id, host, started_at)
          SELECT id, runs, p_worker_id, p_host, now_ms FROM claimed
        )
        SELECT json_agg(row_to_json(c) ORDER BY c.priority DESC, c.run_at, c.created_at, c.seq),
               array_agg(DISTINCT c.queue) FILTER (WHERE c.queue = ANY(v_lock)),
               (SELECT count(*) FROM shares) > count(*)
          INTO v_jobs, v_started, v_left
          FROM claimed c;

        -- Each rate-limited queue that started a job (one at most) records it: the ring slot, and the next start
        -- one spacing on from the later of the planned start and half a spacing ago (late wake-ups do not drift).
        IF v_started IS NOT NULL THEN
          WITH started AS (
            UPDATE @schema.queues
               SET rate_slot = rate_slot + 1, updated_at = now_ms,
                   rate_next_at = round(greatest(rate_next_at::float8, v_clock - rate_period_ms::float8 / rate_count / 2)
                                        + rate_period_ms::float8 / rate_count)::bigint
             WHERE name = ANY(v_started) AND rate_count IS NOT NULL
            RETURNING name, ((rate_slot - 1) % rate_count)::integer AS slot
          )
          INSERT INTO @schema.queue_starts (queue, slot, started_at)
          SELECT name, slot, v_clock FROM started
          ON CONFLICT (queue, slot) DO UPDATE SET started_at = excluded.started_at;
        END IF;
        RETURN QUERY SELECT v_jobs, v_left;
      END
      $fn$;

      -- A worker's report and the claim of its next jobs, in one call: the claim only when the report applied.
      -- wake: the finished job freed a slot of a queue with a concurrency limit that this claim did not refill, or the
      -- claim left rows locked (see claim_jobs): idle workers should look (the caller notifies in the same statement).
      CREATE FUNCTION @schema.finish_and_claim(
        p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text,
        p_worker_id text, p_attempt integer, p_outcome text, p_signal text, p_lease bigint, p_host text,
        p_limit integer, p_queues text[]
      ) RETURNS TABLE (applied boolean, promoted integer, wake boolean, jobs json) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_finish record;
        v_claim  record;
      BEGIN
        SELECT * INTO v_finish
          FROM @schema.finish_job(p_state, p_uncounted, p_delay, p_error, p_exit_code, p_job_id, p_worker_id, p_attempt, p_outcome, p_signal);
        IF NOT v_finish.applied THEN
          RETURN QUERY SELECT false, 0, false, NULL::json;
          RETURN;
        END IF;
        SELECT * INTO v_claim FROM @schema.claim_jobs(p_worker_id, p_lease, p_host, p_limit, p_queues);
        RETURN QUERY SELECT true, v_finish.promoted,
          v_claim.leftover
            OR (v_finish.queue_limited AND NOT EXISTS (SELECT 1 FROM json_array_elements(coalesce(v_claim.claimed_jobs, '[]'::json)) e
                                                        WHERE e->>'queue' = v_finish.job_queue)),
          v_claim.claimed_jobs;
      END
      $fn$;
    `,
};
