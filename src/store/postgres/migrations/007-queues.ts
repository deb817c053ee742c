import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 7,
  name: "named queues, their limits and multi-job claims",
  sql: `
      -- Every job belongs to a queue; existing jobs land in 'default'. A constant default adds the column without
      -- rewriting the table.
      ALTER TABLE @schema.jobs ADD COLUMN queue text NOT NULL DEFAULT 'default';
      -- A queue's jobs per state (queue list) and its running jobs (the concurrency count of a claim).
      CREATE INDEX jobs_queue_state ON @schema.jobs (queue, state);
      -- Each queue's runnable jobs in claim order: a claim with a queue held (paused, limited) or named takes each
      -- queue's share through this, however many runnable jobs of a held queue come first in jobs_runnable.
      CREATE INDEX jobs_queue_runnable ON @schema.jobs (queue, priority DESC, run_at, created_at, seq)
        WHERE state IN ('pending', 'failed');

      -- A queue's settings; the row exists once a setting was made. rate_next_at and rate_slot are the rate's state:
      -- the earliest next start, and how many starts were recorded in queue_starts.
      CREATE TABLE @schema.queues (
        name           text PRIMARY KEY,
        concurrency    integer,
        rate_count     integer,
        rate_period_ms bigint,
        paused         boolean NOT NULL DEFAULT false,
        rate_next_at   bigint NOT NULL DEFAULT 0,
        rate_slot      bigint NOT NULL DEFAULT 0,
        updated_at     bigint,
        CHECK ((rate_count IS NULL) = (rate_period_ms IS NULL))
      );
      -- The start times of a rate-limited queue's last rate_count starts, as a ring (slot = rate_slot % rate_count):
      -- a start is allowed only once the one rate_count starts earlier is a whole period old.
      CREATE TABLE @schema.queue_starts (
        queue      text NOT NULL,
        slot       integer NOT NULL,
        started_at bigint NOT NULL,
        PRIMARY KEY (queue, slot)
      );

      -- A worker's slots and the queues it serves (JSON array of names; null: every queue).
      ALTER TABLE @schema.workers ADD COLUMN concurrency integer NOT NULL DEFAULT 1, ADD COLUMN queues text;

      -- The lifecycle functions change shape (several jobs per claim, the queue of a finished job): replaced whole.
      DROP FUNCTION @schema.finish_and_claim(text, integer, bigint, text, integer, text, text, integer, text, text, bigint, text);
      DROP FUNCTION @schema.claim_job(text, bigint, text);
      DROP FUNCTION @schema.finish_job(text, integer, bigint, text, integer, text, text, integer, text, text);

      -- The guarded report of an attempt (nothing when the worker no longer holds the job), then its dependents.
      -- promoted: how many dependents became pending; job_queue: the job's queue; queue_limited: that queue has a
      -- concurrency limit, so idle workers must hear of the freed slot.
      CREATE FUNCTION @schema.finish_job(
        p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text,
        p_worker_id text, p_attempt integer, p_outcome text, p_signal text
      ) RETURNS TABLE (applied boolean, promoted integer, job_queue text, queue_limited boolean) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        now_ms  bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_moved integer := 0;
        v_queue text;
      BEGIN
        UPDATE @schema.jobs
           SET state = p_state,
               attempts = attempts - p_uncounted,
               run_at = CASE WHEN p_state = 'failed' THEN now_ms + p_delay WHEN p_state = 'pending' THEN now_ms ELSE run_at END,
               finished_at = CASE WHEN p_state IN ('completed', 'dead', 'cancelled') THEN now_ms END,
               worker_id = NULL, lease_expires_at = NULL, cancel_signal = NULL,
               last_error = p_error, exit_code = p_exit_code, updated_at = now_ms
         WHERE id = p_job_id AND state = 'processing' AND worker_id = p_worker_id AND runs = p_attempt
        RETURNING jobs.queue INTO v_queue;
        IF NOT FOUND THEN
          RETURN QUERY SELECT false, 0, NULL::text, false;
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
        RETURN QUERY SELECT true, v_moved, v_queue,
          EXISTS (SELECT 1 FROM @schema.queues q WHERE q.name = v_queue AND q.concurrency IS NOT NULL);
      END
      $fn$;

      -- Claims up to p_limit due jobs of p_queues (null: every queue) by highest priority, earliest run_at, oldest
      -- (other claimers' locked rows skipped), and records their attempts. The job rows as a json array in claim
      -- order, or null when nothing may start.
      --
      -- A queue is held when paused or restricted (a concurrency limit or a rate). With no held queue in play a claim
      -- of every queue is one statement walking jobs_runnable, and locks no queue. Otherwise:
      -- - a restricted queue with due jobs and, at a glance, room is locked (its settings row; all such rows in name
      --   order, held to commit), so its claimers take turns: each one's count of its running jobs sees the claims
      --   of those before it. Its share is its room under its limit, and one start when its rate allows;
      -- - every other queue the claim may take from (p_queues, or each queue with runnable jobs: one index seek
      --   each), unless held, may give up to p_limit;
      -- and one statement takes each queue's best share through jobs_queue_runnable, keeping the best p_limit: a
      -- paused or full queue's backlog ahead in claim order is never walked over.
      -- Job rows are only ever taken with SKIP LOCKED, so a claim holding queue locks never waits: no lock cycle.
      --
      -- enable_sort = off: the claim must walk jobs_runnable (or jobs_queue_runnable) in order and stop at the limit.
      -- Right after a bulk enqueue the statistics still describe a tiny table, and a cached generic plan would sort
      -- every due job on every claim instead (measured: 5 times slower per claim). Sorts nothing can replace (the
      -- merge of the shares below) still happen, at a cost so high it would call in JIT compilation (measured: 0.9 s
      -- per claim): jit = off, which a claim never gains from anyway.
      CREATE FUNCTION @schema.claim_jobs(p_worker_id text, p_lease bigint, p_host text, p_limit integer, p_queues text[])
        RETURNS json LANGUAGE plpgsql VOLATILE SET enable_sort = off SET jit = off AS $fn$
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
          RETURN v_jobs;
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
          RETURN NULL;
        END IF;

        -- Each queue's best share, then the best p_limit of them. Rows locked here and not taken stay locked to
        -- commit: other claimers skip them for that long.
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
               array_agg(DISTINCT c.queue) FILTER (WHERE c.queue = ANY(v_lock))
          INTO v_jobs, v_started
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
        RETURN v_jobs;
      END
      $fn$;

      -- A worker's report and the claim of its next jobs, in one call: the claim only when the report applied.
      -- wake: the finished job freed a slot of a queue with a concurrency limit that this claim did not refill, so
      -- idle workers should look (the caller notifies in the same statement).
      CREATE FUNCTION @schema.finish_and_claim(
        p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text,
        p_worker_id text, p_attempt integer, p_outcome text, p_signal text, p_lease bigint, p_host text,
        p_limit integer, p_queues text[]
      ) RETURNS TABLE (applied boolean, promoted integer, wake boolean, jobs json) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_finish record;
        v_jobs   json;
      BEGIN
        SELECT * INTO v_finish
          FROM @schema.finish_job(p_state, p_uncounted, p_delay, p_error, p_exit_code, p_job_id, p_worker_id, p_attempt, p_outcome, p_signal);
        IF NOT v_finish.applied THEN
          RETURN QUERY SELECT false, 0, false, NULL::json;
          RETURN;
        END IF;
        v_jobs := @schema.claim_jobs(p_worker_id, p_lease, p_host, p_limit, p_queues);
        RETURN QUERY SELECT true, v_finish.promoted,
          v_finish.queue_limited AND NOT EXISTS (SELECT 1 FROM json_array_elements(coalesce(v_jobs, '[]'::json)) e
                                            WHERE e->>'queue' = v_finish.job_queue),
          v_jobs;
      END
      $fn$;
    `,
};
