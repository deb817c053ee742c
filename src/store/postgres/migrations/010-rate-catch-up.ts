import type { Migration } from '../../migration';

/** Shipped; frozen: a later change is a new migration. */
export const migration: Migration = {
  version: 10,
  name: 'a rate makes up the starts that came late',
  sql: `
      -- A rate-limited queue's pace moved on from its planned start or half a spacing ago, whichever was later, so a
      -- claimer that woke more than half a spacing late (a loaded machine, a slow commit) lost that time for good:
      -- 200 starts at 20/s took up to 11 s. Now, while the queue starts jobs without a break, up to a second of
      -- lateness is made up, and two starts are never less than half a spacing apart (a new check: the last start).
      -- The ring still keeps any window of the period to the rate's count. Only claim_jobs changes; its attempts of
      -- restricted queues now start at the time the rules read (as on SQLite), not at the transaction's start, so
      -- the spacing can be checked from the attempts.
      CREATE OR REPLACE FUNCTION @schema.claim_jobs(p_worker_id text, p_lease bigint, p_host text, p_limit integer, p_queues text[])
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
              -- The pace, the ring's oldest start a period ago, and the last start half a spacing ago.
              IF v_clock < v_q.rate_next_at OR EXISTS (
                   SELECT 1 FROM @schema.queue_starts s
                    WHERE s.queue = v_q.name
                      AND ((s.slot = v_q.rate_slot % v_q.rate_count AND v_clock < s.started_at + v_q.rate_period_ms)
                           OR (v_q.rate_slot > 0 AND s.slot = (v_q.rate_slot - 1) % v_q.rate_count
                               AND v_clock < s.started_at + v_q.rate_period_ms::float8 / v_q.rate_count / 2))) THEN
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
          SELECT id, runs, p_worker_id, p_host, coalesce(v_clock, now_ms) FROM claimed
        )
        SELECT json_agg(row_to_json(c) ORDER BY c.priority DESC, c.run_at, c.created_at, c.seq),
               array_agg(DISTINCT c.queue) FILTER (WHERE c.queue = ANY(v_lock)),
               (SELECT count(*) FROM shares) > count(*)
          INTO v_jobs, v_started, v_left
          FROM claimed c;

        -- Each rate-limited queue that started a job (one at most) records it: the ring slot, and the pace moved one
        -- spacing on from the later of the planned start and a floor. While the queue starts jobs without a break (its
        -- last start at most a spacing and a second ago) the floor is a second ago, or half a spacing when that is
        -- longer: starts that came late are made up, half a spacing apart at the least. After a break it is half a
        -- spacing ago: an idle queue builds up no starts to make up. (SQLite: queue-rules.ts, recordRateStart.)
        IF v_started IS NOT NULL THEN
          WITH started AS (
            UPDATE @schema.queues q
               SET rate_slot = rate_slot + 1, updated_at = now_ms,
                   rate_next_at = round(greatest(rate_next_at::float8, v_clock - CASE
                       WHEN v_clock - (SELECT s.started_at FROM @schema.queue_starts s
                                        WHERE s.queue = q.name AND q.rate_slot > 0 AND s.slot = (q.rate_slot - 1) % q.rate_count)
                            <= rate_period_ms::float8 / rate_count + 1000
                       THEN greatest(1000, rate_period_ms::float8 / rate_count / 2)
                       ELSE rate_period_ms::float8 / rate_count / 2 END)
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
  `,
};
