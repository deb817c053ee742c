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

@schema.attempts attempts_pkey PRIMARY KEY (job_id, attempt)
@schema.config config_pkey PRIMARY KEY (key)
@schema.finish_hooks finish_hooks_pkey PRIMARY KEY (job_id)
@schema.job_deps job_deps_pkey PRIMARY KEY (job_id, depends_on)
@schema.job_output job_output_pkey PRIMARY KEY (job_id, attempt, seq)
@schema.jobs jobs_pkey PRIMARY KEY (id)
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
CREATE INDEX jobs_runnable ON @schema.jobs USING btree (priority DESC, run_at, created_at, seq) WHERE (state = ANY (ARRAY['pending'::text, 'failed'::text]))
CREATE INDEX jobs_state ON @schema.jobs USING btree (state, created_at, seq)
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

CREATE OR REPLACE FUNCTION @schema.claim_job(p_worker_id text, p_lease bigint, p_host text)
 RETURNS json
 LANGUAGE plpgsql
AS $function$
      DECLARE
        now_ms bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_job  json;
      BEGIN
        WITH claimed AS (
          UPDATE "@schema".jobs
             SET state = 'processing', attempts = attempts + 1, runs = runs + 1, worker_id = p_worker_id,
                 lease_expires_at = now_ms + p_lease, updated_at = now_ms, cancel_signal = NULL
           WHERE id = (SELECT id FROM "@schema".jobs
                        WHERE state IN ('pending', 'failed') AND run_at <= now_ms
                        ORDER BY priority DESC, run_at, created_at, seq
                        LIMIT 1
                        FOR UPDATE SKIP LOCKED)
          RETURNING *
        ), attempt AS (
          INSERT INTO "@schema".attempts (job_id, attempt, worker_id, host, started_at)
          SELECT id, runs, p_worker_id, p_host, now_ms FROM claimed
        )
        SELECT row_to_json(claimed) INTO v_job FROM claimed;
        RETURN v_job;
      END
      $function$

CREATE OR REPLACE FUNCTION @schema.finish_and_claim(p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text, p_worker_id text, p_attempt integer, p_outcome text, p_signal text, p_lease bigint, p_host text)
 RETURNS TABLE(applied boolean, promoted integer, job json)
 LANGUAGE plpgsql
AS $function$
      DECLARE
        v_finish record;
      BEGIN
        SELECT * INTO v_finish
          FROM "@schema".finish_job(p_state, p_uncounted, p_delay, p_error, p_exit_code, p_job_id, p_worker_id, p_attempt, p_outcome, p_signal);
        IF NOT v_finish.applied THEN
          RETURN QUERY SELECT false, 0, NULL::json;
          RETURN;
        END IF;
        RETURN QUERY SELECT true, v_finish.promoted, "@schema".claim_job(p_worker_id, p_lease, p_host);
      END
      $function$

CREATE OR REPLACE FUNCTION @schema.finish_job(p_state text, p_uncounted integer, p_delay bigint, p_error text, p_exit_code integer, p_job_id text, p_worker_id text, p_attempt integer, p_outcome text, p_signal text)
 RETURNS TABLE(applied boolean, promoted integer)
 LANGUAGE plpgsql
AS $function$
      DECLARE
        now_ms  bigint := floor(extract(epoch FROM now()) * 1000)::bigint;
        v_moved integer := 0;
      BEGIN
        UPDATE "@schema".jobs
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
        RETURN QUERY SELECT true, v_moved;
      END
      $function$


1 initial schema
2 finish hooks of jobs ended without a worker
3 the job lifecycle as functions
4 claims and reports write no worker row
5 schedules (recurring jobs)
6 stats indexes
