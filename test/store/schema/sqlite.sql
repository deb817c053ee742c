user_version 6

index attempts_finished
CREATE INDEX attempts_finished ON attempts (finished_at) WHERE finished_at IS NOT NULL

index job_deps_reverse
CREATE INDEX job_deps_reverse ON job_deps (depends_on, job_id)

index jobs_finished
CREATE INDEX jobs_finished ON jobs (state, finished_at) WHERE finished_at IS NOT NULL

index jobs_pending_run_at
CREATE INDEX jobs_pending_run_at ON jobs (run_at) WHERE state = 'pending'

index jobs_queue_runnable
CREATE INDEX jobs_queue_runnable ON jobs (queue, priority DESC, run_at, created_at) WHERE state IN ('pending', 'failed')

index jobs_queue_state
CREATE INDEX jobs_queue_state ON jobs (queue, state) WHERE state <> 'pending'

index jobs_runnable
CREATE INDEX jobs_runnable ON jobs (priority DESC, run_at, created_at) WHERE state IN ('pending', 'failed')

index jobs_state
CREATE INDEX jobs_state ON jobs (state, created_at)

index schedules_due
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0

table attempts
CREATE TABLE "attempts" (
        job_id           TEXT NOT NULL,
        attempt          INTEGER NOT NULL,
        worker_id        TEXT NOT NULL,
        host             TEXT NOT NULL,
        pid              INTEGER,
        pid_start        TEXT,
        started_at       INTEGER NOT NULL,
        finished_at      INTEGER,
        outcome          TEXT,
        exit_code        INTEGER,
        signal           TEXT,
        error            TEXT,
        output_bytes     INTEGER NOT NULL DEFAULT 0,
        output_truncated INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, attempt)
      ) WITHOUT ROWID

table config
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL)

table finish_hooks
CREATE TABLE finish_hooks (
        job_id     TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        exit_code  INTEGER,
        created_at INTEGER NOT NULL
      )

table job_deps
CREATE TABLE job_deps (
        job_id     TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        PRIMARY KEY (job_id, depends_on)
      ) WITHOUT ROWID

table job_output
CREATE TABLE job_output (
        job_id  TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        stream  TEXT NOT NULL,
        data    TEXT NOT NULL,
        PRIMARY KEY (job_id, attempt, seq)
      )

table jobs
CREATE TABLE jobs (
        id               TEXT PRIMARY KEY,
        command          TEXT NOT NULL,
        state            TEXT NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,  -- counted against max_retries
        runs             INTEGER NOT NULL DEFAULT 0,  -- every run, numbering the attempts table
        max_retries      INTEGER NOT NULL,
        priority         INTEGER NOT NULL DEFAULT 0,
        run_at           INTEGER NOT NULL,
        timeout          REAL,
        cwd              TEXT,
        env              TEXT,
        depends_on       TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        finished_at      INTEGER,
        worker_id        TEXT,
        lease_expires_at INTEGER,
        last_error       TEXT,
        exit_code        INTEGER,
        cancel_signal    TEXT
      , queue TEXT NOT NULL DEFAULT 'default')

table queue_starts
CREATE TABLE queue_starts (
        queue      TEXT NOT NULL,
        slot       INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (queue, slot)
      ) WITHOUT ROWID

table queues
CREATE TABLE queues (
        name           TEXT PRIMARY KEY,
        concurrency    INTEGER,
        rate_count     INTEGER,
        rate_period_ms INTEGER,
        paused         INTEGER NOT NULL DEFAULT 0,
        rate_next_at   INTEGER NOT NULL DEFAULT 0,
        rate_slot      INTEGER NOT NULL DEFAULT 0,
        updated_at     INTEGER
      )

table schedules
CREATE TABLE schedules (
        name         TEXT PRIMARY KEY,
        cron         TEXT,
        every_ms     INTEGER,
        time_zone    TEXT NOT NULL,
        no_overlap   INTEGER NOT NULL DEFAULT 0,
        catch_up     TEXT NOT NULL,
        job          TEXT NOT NULL,
        paused       INTEGER NOT NULL DEFAULT 0,
        next_run_at  INTEGER NOT NULL,
        last_tick_at INTEGER,
        last_job_id  TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        CHECK ((cron IS NULL) <> (every_ms IS NULL))
      )

table schema_migrations
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)

table workers
CREATE TABLE workers (
        id             TEXT PRIMARY KEY,
        host           TEXT NOT NULL,
        pid            INTEGER NOT NULL,
        pid_start      TEXT,
        state          TEXT NOT NULL,
        started_at     INTEGER NOT NULL,
        last_heartbeat INTEGER NOT NULL,
        current_job    TEXT,
        stop_request   TEXT
      , concurrency INTEGER NOT NULL DEFAULT 1, queues TEXT)
