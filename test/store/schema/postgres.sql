attempts.job_id text not null
attempts.attempt integer not null
attempts.worker_id text not null
attempts.host text not null
attempts.pid integer
attempts.pid_start text
attempts.started_at bigint not null
attempts.finished_at bigint
attempts.outcome text
attempts.exit_code integer
attempts.signal text
attempts.error text
attempts.output_bytes bigint not null default 0
attempts.output_truncated boolean not null default false
config.key text not null
config.value text not null
finish_hooks.job_id text not null
finish_hooks.state text not null
finish_hooks.exit_code integer
finish_hooks.created_at bigint not null
job_deps.job_id text not null
job_deps.depends_on text not null
job_output.job_id text not null
job_output.attempt integer not null
job_output.seq integer not null
job_output.stream text not null
job_output.data bytea not null
jobs.id text not null
jobs.seq bigint not null
jobs.command text not null
jobs.state text not null
jobs.attempts integer not null default 0
jobs.runs integer not null default 0
jobs.max_retries bigint not null
jobs.priority bigint not null default 0
jobs.run_at bigint not null
jobs.timeout double precision
jobs.cwd text
jobs.env text
jobs.depends_on text
jobs.created_at bigint not null
jobs.updated_at bigint not null
jobs.finished_at bigint
jobs.worker_id text
jobs.lease_expires_at bigint
jobs.last_error text
jobs.exit_code integer
jobs.cancel_signal text
jobs.queue text not null default 'default'::text
jobs.end_watched boolean not null default false
queue_starts.queue text not null
queue_starts.slot integer not null
queue_starts.started_at bigint not null
queues.name text not null
queues.concurrency integer
queues.rate_count integer
queues.rate_period_ms bigint
queues.paused boolean not null default false
queues.rate_next_at bigint not null default 0
queues.rate_slot bigint not null default 0
queues.updated_at bigint
schedules.name text not null
schedules.cron text
schedules.every_ms bigint
schedules.time_zone text not null
schedules.no_overlap boolean not null default false
schedules.catch_up text not null
schedules.job jsonb not null
schedules.paused boolean not null default false
schedules.next_run_at bigint not null
schedules.last_tick_at bigint
schedules.last_job_id text
schedules.created_at bigint not null
schedules.updated_at bigint not null
schema_migrations.version integer not null
schema_migrations.name text not null
schema_migrations.applied_at timestamp with time zone not null default now()
workers.id text not null
workers.host text not null
workers.pid integer not null
workers.pid_start text
workers.state text not null
workers.started_at bigint not null
workers.last_heartbeat bigint not null
workers.current_job text
workers.stop_request text
workers.concurrency integer not null default 1
workers.queues text

@schema.attempts attempts_pkey PRIMARY KEY (job_id, attempt)
@schema.config config_pkey PRIMARY KEY (key)
@schema.finish_hooks finish_hooks_pkey PRIMARY KEY (job_id)
@schema.job_deps job_deps_pkey PRIMARY KEY (job_id, depends_on)
@schema.job_output job_output_pkey PRIMARY KEY (job_id, attempt, seq)
@schema.jobs jobs_pkey PRIMARY KEY (id)
@schema.queue_starts queue_starts_pkey PRIMARY KEY (queue, slot)
@schema.queues queues_check CHECK (((rate_count IS NULL) = (rate_period_ms IS NULL)))
@schema.queues queues_pkey PRIMARY KEY (name)
@schema.schedules schedules_check CHECK (((cron IS NULL) <> (every_ms IS NULL)))
@schema.schedules schedules_pkey PRIMARY KEY (name)
@schema.schema_migrations schema_migrations_pkey PRIMARY KEY (version)
@schema.workers workers_pkey PRIMARY KEY (id)

CREATE INDEX attempts_finished ON @schema.attempts USING btree (finished_at) WHERE (finished_at IS NOT NULL)
CREATE UNIQUE INDEX attempts_pkey ON @schema.attempts USING btree (job_id, attempt)
CREATE UNIQUE INDEX config_pkey ON @schema.config USING btree (key)
CREATE UNIQUE INDEX finish_hooks_pkey ON @schema.finish_hooks USING btree (job_id)
CREATE UNIQUE INDEX job_deps_pkey ON @schema.job_deps USING btree (job_id, depends_on)
CREATE INDEX job_deps_reverse ON @schema.job_deps USING btree (depends_on, job_id)
CREATE UNIQUE INDEX job_output_pkey ON @schema.job_output USING btree (job_id, attempt, seq)
CREATE INDEX jobs_finished ON @schema.jobs USING btree (state, finished_at) WHERE (finished_at IS NOT NULL)
CREATE INDEX jobs_pending_run_at ON @schema.jobs USING btree (run_at) WHERE (state = 'pending'::text)
CREATE UNIQUE INDEX jobs_pkey ON @schema.jobs USING btree (id)
CREATE INDEX jobs_queue_runnable ON @schema.jobs USING btree (queue, priority DESC, run_at, created_at, seq) WHERE (state = ANY (ARRAY['pending'::text, 'failed'::text]))
CREATE INDEX jobs_queue_state ON @schema.jobs USING btree (queue, state)
CREATE INDEX jobs_runnable ON @schema.jobs USING btree (priority DESC, run_at, created_at, seq) WHERE (state = ANY (ARRAY['pending'::text, 'failed'::text]))
CREATE INDEX jobs_state ON @schema.jobs USING btree (state, created_at, seq)
CREATE UNIQUE INDEX queue_starts_pkey ON @schema.queue_starts USING btree (queue, slot)
CREATE UNIQUE INDEX queues_pkey ON @schema.queues USING btree (name)
CREATE INDEX schedules_due ON @schema.schedules USING btree (next_run_at) WHERE (NOT paused)
CREATE UNIQUE INDEX schedules_pkey ON @schema.schedules USING btree (name)
CREATE UNIQUE INDEX schema_migrations_pkey ON @schema.schema_migrations USING btree (version)
CREATE UNIQUE INDEX workers_pkey ON @schema.workers USING btree (id)

CREATE OR REPLACE FUNCTION @schema.cancel_dependents(p_job_id text, p_state text)
 RETURNS void
 LANGUAGE sql
AS $function$
        WITH RECURSIVE downstream(id) AS (
          SELECT job_id FROM "@schema".job_deps WHERE depends_on = p_job_id
          UNION
          SELECT d.job_id FROM "@schema".job_deps d JOIN downstream ON d.depends_on = downstream.id
        ), locked AS (
          SELECT id FROM "@schema".jobs WHERE state = 'waiting' AND id IN (SELECT id FROM downstream) ORDER BY id FOR UPDATE
        ), cancelled AS (
          UPDATE "@schema".jobs SET state = 'cancelled', last_error = format('dependency %L ended %s', p_job_id, p_state),
                 finished_at = floor(extract(epoch FROM now()) * 1000)::bigint, updated_at = floor(extract(epoch FROM now()) * 1000)::bigint
           WHERE state = 'waiting' AND id IN (SELECT id FROM locked)
          RETURNING id
        )
        INSERT INTO "@schema".finish_hooks (job_id, state, created_at)
        SELECT id, 'cancelled', floor(extract(epoch FROM now()) * 1000)::bigint FROM cancelled
        ON CONFLICT (job_id) DO NOTHING;
      $function$

CREATE OR REPLACE FUNCTION @schema.claim_jobs(p_worker_id text, p_lease bigint, p_host text, p_limit integer, p_queues text[])
 RETURNS TABLE(claimed_jobs json, leftover boolean)
 LANGUAGE plpgsql
 SET enable_sort TO 'off'
 SET jit TO 'off'
AS $function$
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
        SELECT array_agg(name) INTO v_held FROM "@schema".queues
         WHERE (paused OR concurrency IS NOT NULL OR rate_count IS NOT NULL)
           AND (p_queues IS NULL OR name = ANY(p_queues));

        IF v_held IS NULL AND p_queues IS NULL THEN
          WITH claimed AS (
            UPDATE "@schema".jobs
               SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = p_worker_id,
                   lease_expires_at = now_ms + p_lease, updated_at = now_ms, cancel_signal = NULL
             WHERE id = ANY(ARRAY(
                     SELECT id FROM "@schema".jobs
                      WHERE state IN ('pending', 'failed') AND run_at <= now_ms
                      ORDER BY priority DESC, run_at, created_at, seq
                      LIMIT p_limit
                      FOR UPDATE SKIP LOCKED))
            RETURNING *
          ), attempt AS (
            INSERT INTO "@schema".attempts (job_id, attempt, worker_id, host, started_at)
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
          SELECT array_agg(name ORDER BY name) INTO v_lock FROM "@schema".queues q
           WHERE name = ANY(v_held) AND NOT paused AND (concurrency IS NOT NULL OR rate_count IS NOT NULL)
             AND (rate_count IS NULL OR rate_next_at <= v_clock)
             AND (concurrency IS NULL
                  OR concurrency > (SELECT count(*) FROM "@schema".jobs j WHERE j.queue = q.name AND j.state = 'processing'))
             AND EXISTS (SELECT 1 FROM "@schema".jobs j
                          WHERE j.queue = q.name AND j.state IN ('pending', 'failed') AND j.run_at <= now_ms);
        END IF;

        IF v_lock IS NOT NULL THEN
          PERFORM 1 FROM "@schema".queues WHERE name = ANY(v_lock) ORDER BY name FOR UPDATE;
          -- Read after the locks: every claimer that held them before us has committed, and its claims count here.
          v_clock := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
          FOR v_q IN SELECT * FROM "@schema".queues WHERE name = ANY(v_lock) ORDER BY name LOOP
            CONTINUE WHEN v_q.paused;
            v_room_q := p_limit;
            IF v_q.concurrency IS NOT NULL THEN
              v_room_q := least(v_room_q, v_q.concurrency
                - (SELECT count(*) FROM "@schema".jobs j WHERE j.queue = v_q.name AND j.state = 'processing')::integer);
            END IF;
            IF v_q.rate_count IS NOT NULL AND v_room_q > 0 THEN
              -- The pace, the ring's oldest start a period ago, and the last start half a spacing ago.
              IF v_clock < v_q.rate_next_at OR EXISTS (
                   SELECT 1 FROM "@schema".queue_starts s
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
            SELECT (SELECT min(queue) FROM "@schema".jobs WHERE state IN ('pending', 'failed'))
            UNION ALL
            SELECT (SELECT min(queue) FROM "@schema".jobs WHERE state IN ('pending', 'failed') AND queue > runnable.name)
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
                 SELECT id, priority, run_at, created_at, seq FROM "@schema".jobs
                  WHERE queue = o.name AND state IN ('pending', 'failed') AND run_at <= now_ms
                  ORDER BY priority DESC, run_at, created_at, seq
                  LIMIT o.room
                  FOR UPDATE SKIP LOCKED) j
        ), picked AS (
          SELECT id FROM shares ORDER BY priority DESC, run_at, created_at, seq LIMIT p_limit
        ), claimed AS (
          UPDATE "@schema".jobs
             SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = p_worker_id,
                 lease_expires_at = now_ms + p_lease, updated_at = now_ms, cancel_signal = NULL
           WHERE id IN (SELECT id FROM picked)
          RETURNING *
        ), attempt AS (
          INSERT INTO "@schema".attempts (job_id, attempt, worker_id, host, started_at)
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
            UPDATE "@schema".queues q
               SET rate_slot = rate_slot + 1, updated_at = now_ms,
                   rate_next_at = round(greatest(rate_next_at::float8, v_clock - CASE
                       WHEN v_clock - (SELECT s.started_at FROM "@schema".queue_starts s
                                        WHERE s.queue = q.name AND q.rate_slot > 0 AND s.slot = (q.rate_slot - 1) % q.rate_count)
                            <= rate_period_ms::float8 / rate_count + 1000
                       THEN greatest(1000, rate_period_ms::float8 / rate_count / 2)
                       ELSE rate_period_ms::float8 / rate_count / 2 END)
                     + rate_period_ms::float8 / rate_count)::bigint
             WHERE name = ANY(v_started) AND rate_count IS NOT NULL
            RETURNING name, ((rate_slot - 1) % rate_count)::integer AS slot
          )
          INSERT INTO "@schema".queue_starts (queue, slot, started_at)
          SELECT name, slot, v_clock FROM started
          ON CONFLICT (queue, slot) DO UPDATE SET started_at = excluded.started_at;
        END IF;
        RETURN QUERY SELECT v_jobs, v_left;
      END
      $function$

CREATE OR REPLACE FUNCTION @schema.finish_and_claim(p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text, p_worker_id text, p_attempt integer, p_outcome text, p_signal text, p_lease bigint, p_host text, p_limit integer, p_queues text[])
 RETURNS TABLE(applied boolean, promoted integer, wake boolean, jobs json)
 LANGUAGE plpgsql
AS $function$
      DECLARE
        v_finish record;
        v_claim  record;
      BEGIN
        SELECT * INTO v_finish
          FROM "@schema".finish_job(p_state, p_uncounted, p_delay, p_error, p_exit_code, p_job_id, p_worker_id, p_attempt, p_outcome, p_signal);
        IF NOT v_finish.applied THEN
          RETURN QUERY SELECT false, 0, false, NULL::json;
          RETURN;
        END IF;
        SELECT * INTO v_claim FROM "@schema".claim_jobs(p_worker_id, p_lease, p_host, p_limit, p_queues);
        RETURN QUERY SELECT true, v_finish.promoted,
          v_claim.leftover
            OR (v_finish.queue_limited AND NOT EXISTS (SELECT 1 FROM json_array_elements(coalesce(v_claim.claimed_jobs, '[]'::json)) e
                                                        WHERE e->>'queue' = v_finish.job_queue)),
          v_claim.claimed_jobs;
      END
      $function$

CREATE OR REPLACE FUNCTION @schema.finish_job(p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text, p_worker_id text, p_attempt integer, p_outcome text, p_signal text)
 RETURNS TABLE(applied boolean, promoted integer, job_queue text, queue_limited boolean)
 LANGUAGE plpgsql
AS $function$
      DECLARE
        now_ms  bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_moved integer := 0;
        v_queue text;
      BEGIN
        UPDATE "@schema".jobs
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
        UPDATE "@schema".attempts SET finished_at = now_ms, outcome = p_outcome, exit_code = p_exit_code, signal = p_signal, error = p_error
         WHERE job_id = p_job_id AND attempt = p_attempt;

        IF p_state = 'completed' THEN
          -- Lock the waiting dependents in id order first: two dependencies finishing at once take turns, and the
          -- second sees the first completed.
          PERFORM 1 FROM "@schema".jobs
            WHERE state = 'waiting' AND id IN (SELECT job_id FROM "@schema".job_deps WHERE depends_on = p_job_id)
            ORDER BY id FOR UPDATE;
          IF FOUND THEN
            -- Dependents whose every dependency has completed become pending. Purged dependencies count as done.
            UPDATE "@schema".jobs SET state = 'pending', updated_at = now_ms
             WHERE state = 'waiting'
               AND id IN (SELECT job_id FROM "@schema".job_deps WHERE depends_on = p_job_id)
               AND NOT EXISTS (SELECT 1 FROM "@schema".job_deps d JOIN "@schema".jobs dep ON dep.id = d.depends_on
                                WHERE d.job_id = jobs.id AND dep.state <> 'completed');
            GET DIAGNOSTICS v_moved = ROW_COUNT;
          END IF;
        ELSIF p_state IN ('dead', 'cancelled') THEN
          PERFORM "@schema".cancel_dependents(p_job_id, p_state);
        END IF;
        RETURN QUERY SELECT true, v_moved, v_queue,
          EXISTS (SELECT 1 FROM "@schema".queues q WHERE q.name = v_queue AND q.concurrency IS NOT NULL);
      END
      $function$

CREATE OR REPLACE FUNCTION @schema.finish_jobs_and_claim(p_states text[], p_uncounted integer[], p_delays bigint[], p_errors text[], p_exit_codes integer[], p_job_ids text[], p_worker_id text, p_attempts integer[], p_outcomes text[], p_signals text[], p_lease bigint, p_host text, p_limit integer, p_queues text[])
 RETURNS TABLE(applied boolean[], promoted integer, wake boolean, ended_watched boolean, jobs json)
 LANGUAGE plpgsql
AS $function$
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
            UPDATE "@schema".jobs
               SET state = v_state,
                   attempts = attempts - p_uncounted[i],
                   run_at = CASE WHEN v_state = 'failed' THEN now_ms + p_delays[i] WHEN v_state = 'pending' THEN now_ms ELSE run_at END,
                   finished_at = CASE WHEN v_state IN ('completed', 'dead', 'cancelled') THEN now_ms END,
                   worker_id = NULL, lease_expires_at = NULL, cancel_signal = NULL,
                   last_error = p_errors[i], exit_code = p_exit_codes[i], updated_at = now_ms
             WHERE id = v_id AND state = 'processing' AND worker_id = p_worker_id AND runs = p_attempts[i]
            RETURNING end_watched, (SELECT q.concurrency IS NOT NULL FROM "@schema".queues q WHERE q.name = jobs.queue) AS limited, queue
          ), closed AS (
            UPDATE "@schema".attempts
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
            PERFORM 1 FROM "@schema".jobs
              WHERE state = 'waiting' AND id IN (SELECT job_id FROM "@schema".job_deps WHERE depends_on = v_id)
              ORDER BY id FOR UPDATE;
            IF FOUND THEN
              UPDATE "@schema".jobs SET state = 'pending', updated_at = now_ms
               WHERE state = 'waiting'
                 AND id IN (SELECT job_id FROM "@schema".job_deps WHERE depends_on = v_id)
                 AND NOT EXISTS (SELECT 1 FROM "@schema".job_deps d JOIN "@schema".jobs dep ON dep.id = d.depends_on
                                  WHERE d.job_id = jobs.id AND dep.state <> 'completed');
              GET DIAGNOSTICS v_moved = ROW_COUNT;
              v_promoted := v_promoted + v_moved;
            END IF;
          ELSIF v_state IN ('dead', 'cancelled') THEN
            PERFORM "@schema".cancel_dependents(v_id, v_state);
          END IF;
        END LOOP;
        IF NOT (true = ANY(v_applied)) THEN
          RETURN QUERY SELECT v_applied, 0, false, false, NULL::json;
          RETURN;
        END IF;

        IF p_limit > 0 THEN
          SELECT * INTO v_claim FROM "@schema".claim_jobs(p_worker_id, p_lease, p_host, p_limit, p_queues);
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
      $function$


1 initial schema
2 finish hooks of jobs ended without a worker
3 the job lifecycle as functions
4 claims and reports write no worker row
5 schedules (recurring jobs)
6 stats indexes
7 named queues, their limits and multi-job claims
8 a claim that leaves rows locked wakes idle workers
9 finishes in batches; job ends announced only when awaited
10 a rate makes up the starts that came late
11 each report of a batch written by one statement
