import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, utimesSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../../core/clock';
import { resolveConfig } from '../../core/config';
import { idTakenError, planEnqueue } from '../../core/dependencies';
import { ConflictError, isQueueError, NotFoundError, StoreUnavailableError } from '../../core/errors';
import { emptyCounts, isTerminal, type Job, type JobState, type OutputChunk } from '../../core/job';
import type { NewJob } from '../../core/job-spec';
import type { Schedule } from '../../core/schedule';
import type {
  AppendOutputParams, CancelResult, ClaimedJob, ClaimParams, EndedJob, EnqueueResult, FinishParams, HeartbeatReply, JobCountsSummary, LeaseRecord, StopMode, Store,
  WorkerIdentity, WorkerRecord, WorkerState,
} from '../store';
import { assertQueuectlFile, isDiskFull, translateOpenError, translateSqliteError } from './file-checks';
import type { AddScheduleParams, FireScheduleParams, FireScheduleResult, RunScheduleParams, SetSchedulePausedParams } from '../store';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './migrations/index';
import { SqliteSchedules } from './schedules';
import * as Q from './queries';
import { CreatedJob, newJobRecord, toAttempt, toJob, toWorker, type AttemptRow, type JobRow, type JobStart, type WorkerRow } from '../rows';

/**
 * better-sqlite3's compiled addon, named outright: left to itself better-sqlite3 finds it with the `bindings` package,
 * which searches from the calling file and so fails inside the bundled CLI (scripts/bundle-cli.mjs). Undefined (the
 * search) when the addon is not at the path a source build leaves.
 */
const NATIVE_BINDING = (() => {
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
})();

export interface SqliteStoreOptions {
  /**
   * `full` (the default) fsyncs every commit: an enqueue that returned survives a power cut.
   * `normal` (workers) skips the fsync at commit in WAL mode: still safe against a crash of any process, and after a
   * power cut at worst a finished job's result is lost and the job runs again.
   */
  durability?: 'full' | 'normal';
  clock?: Clock;
  /** How long a write keeps retrying while other processes hold the write lock. */
  busyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The embedded store: one SQLite file in WAL mode, shared by every process on this host. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly clock: Clock;
  private readonly defaultBusyTimeoutMs: number;
  /** How long a call keeps retrying a locked database: the call deadline when one is set. */
  private busyTimeoutMs: number;
  private readonly wakePath: string;

  private constructor(private readonly db: Database.Database, readonly location: string, options: SqliteStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.defaultBusyTimeoutMs = options.busyTimeoutMs ?? 30_000;
    this.busyTimeoutMs = this.defaultBusyTimeoutMs;
    this.wakePath = `${location}-wake`;
  }

  /** Opens (creating with owner-only permissions if needed) and migrates the database at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    let db: Database.Database;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      try {
        closeSync(openSync(path, 'wx', 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // Busy waits are ours (see write()): SQLite's own handler sleeps ever longer and starves a waiting process.
      db = new Database(path, { timeout: 0, nativeBinding: NATIVE_BINDING });
    } catch (err) {
      if (isDiskFull(err)) throw translateSqliteError(err, path);
      throw new StoreUnavailableError(`cannot open database ${path}: ${(err as Error).message}; pass a writable file path with --db or QUEUECTL_DB`);
    }
    const store = new SqliteStore(db, path, options);
    try {
      store.configure(options.durability ?? 'full');
    } catch (err) {
      db.close();
      const translated = translateOpenError(err, path);
      if (isQueueError(translated)) throw translated;
      throw new StoreUnavailableError(`cannot use database ${path}: ${(err as Error).message}; is it a queuectl SQLite file?`);
    }
    return store;
  }

  private configure(durability: 'full' | 'normal'): void {
    this.withBusyRetrySync(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SQLITE_SCHEMA_VERSION) {
        throw new StoreUnavailableError(
          `database ${this.location} has schema version ${version}, newer than this queuectl understands (${SQLITE_SCHEMA_VERSION}); upgrade queuectl`,
        );
      }
      if (version < SQLITE_SCHEMA_VERSION) {
        assertQueuectlFile(this.db, this.location);
        this.migrate();
      }
    });
    this.db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    // Checkpoint every 4,000 WAL pages (16 MiB) rather than SQLite's 1,000: a worker's claim rewrites the same few hot
    // pages, which a checkpoint copies once however often they changed. Measured here: 4% less CPU per drained job.
    this.db.pragma('wal_autocheckpoint = 4000');
    try {
      closeSync(openSync(this.wakePath, 'a', 0o600));
    } catch {
      // Without a wake file workers still find work through their fallback poll.
    }
  }

  private migrate(): void {
    this.db.pragma('journal_mode = WAL');
    for (const migration of SQLITE_MIGRATIONS) {
      this.db.transaction(() => {
        // Re-read inside the write lock: another process may have migrated meanwhile.
        const current = this.db.pragma('user_version', { simple: true }) as number;
        if (current >= migration.version) return;
        this.db.exec(migration.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
        this.db.pragma(`user_version = ${migration.version}`);
      }).immediate();
    }
  }

  private withBusyRetrySync<T>(fn: () => T): T {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (;;) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err) || Date.now() > deadline) throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2 + Math.random() * 8);
      }
    }
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction. While another process holds the write lock we retry after a short
   * random pause, yielding to the event loop; equal short pauses give every waiting process a fair chance.
   */
  private async write<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let tries = 0; ; tries++) {
      try {
        return this.inWriteTransaction(fn);
      } catch (err) {
        if (!isBusy(err)) throw translateSqliteError(err, this.location);
        if (Date.now() > deadline) {
          throw new StoreUnavailableError(`database ${this.location} stayed locked for ${this.busyTimeoutMs / 1000}s; another process holds its write lock`);
        }
        await sleep(Math.random() * Math.min(4, 1 + tries / 4));
      }
    }
  }

  /**
   * `fn` between BEGIN IMMEDIATE and COMMIT, rolled back if it throws. Written out rather than with better-sqlite3's
   * `transaction()`, which builds five new wrapper functions on every call: a worker makes a transaction per job.
   */
  private inWriteTransaction<T>(fn: () => T): T {
    this.stmt('BEGIN IMMEDIATE').run();
    try {
      const result = fn();
      this.stmt('COMMIT').run();
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.stmt('ROLLBACK').run();
      throw err;
    }
  }

  private async read<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (;;) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw translateSqliteError(err, this.location);
        if (Date.now() > deadline) throw new StoreUnavailableError(`database ${this.location} stayed locked for ${this.busyTimeoutMs / 1000}s`);
        await sleep(1 + Math.random() * 4);
      }
    }
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  /** Statements run in-process and never hang; only the wait for another process's lock is bounded. */
  setCallDeadline(params: { ms: number | null }): void {
    this.busyTimeoutMs = params.ms ?? this.defaultBusyTimeoutMs;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // --- Jobs ---------------------------------------------------------------------------------------------------------

  async enqueue(params: { jobs: NewJob[]; ifNotExists: boolean }): Promise<EnqueueResult[]> {
    const results = await this.write(() => {
      const now = this.clock.now();
      const getState = this.stmt(Q.GET_JOB_STATE);
      const stateOf = (id: string) => (getState.get(id) as { state: JobState } | undefined)?.state;
      // A plain batch (no dependencies, no ifNotExists) needs no look-ups and no plan: every job starts pending, and the
      // insert itself reports a taken id. A bulk enqueue stays at one statement per job.
      const plain = !params.ifNotExists && params.jobs.every((job) => job.dependsOn.length === 0);
      // Otherwise a job whose id exists (in the store, or earlier in this batch) is never planned: with ifNotExists it
      // is returned as it is, and its real state, not a planned one, decides the state of new jobs that depend on it.
      const fresh = plain ? params.jobs : this.newJobsOf(params.jobs, params.ifNotExists, stateOf);
      const plan = plain ? null : new Map(planEnqueue(fresh, stateOf).map((planned) => [planned.job, planned]));
      const defaultMaxRetries = fresh.some((job) => job.maxRetries === null) ? resolveConfig(this.configSync())['max-retries'] : 0;
      const pending: JobStart = { state: 'pending', reason: null, now, defaultMaxRetries };
      const insert = this.stmt(Q.INSERT_JOB);
      const insertDep = this.stmt(Q.INSERT_DEP);
      const created: CreatedJob[] = [];
      // Insert in input order, not dependency order: rowid is the claim's last tie-break ("oldest first").
      for (let i = 0; i < fresh.length; i++) {
        const job = fresh[i]!;
        const planned = plan?.get(job);
        const start = planned && planned.state !== 'pending' ? { ...pending, state: planned.state, reason: planned.reason } : pending;
        const r = newJobRecord(job, start);
        const env = r.env === null ? null : JSON.stringify(r.env);
        const dependsOn = r.dependsOn.length === 0 ? null : JSON.stringify(r.dependsOn);
        const inserted = insert.run(r.id, r.command, r.state, r.maxRetries, r.priority, r.runAt, r.timeout, r.cwd, env, dependsOn, now, now, r.finishedAt, r.lastError);
        if (inserted.changes === 0) throw idTakenError(job.id, fresh.slice(0, i).some((earlier) => earlier.id === job.id));
        for (const dep of job.dependsOn) insertDep.run(job.id, dep);
        created.push(new CreatedJob(job, start));
      }
      if (fresh === params.jobs) return created;
      const byJob = new Map(fresh.map((job, i) => [job, created[i]!]));
      return params.jobs.map((job): EnqueueResult => byJob.get(job) ?? { job: toJob(this.stmt(Q.GET_JOB).get(job.id) as JobRow), created: false });
    });
    if (results.some((result) => result.created)) await this.notify();
    return results;
  }

  /** The jobs of a batch to insert: those whose id is new; a taken id is an error unless `ifNotExists`. */
  private newJobsOf(jobs: NewJob[], ifNotExists: boolean, stateOf: (id: string) => JobState | undefined): NewJob[] {
    const fresh = new Map<string, NewJob>();
    for (const job of jobs) {
      if (!fresh.has(job.id) && stateOf(job.id) === undefined) fresh.set(job.id, job);
      else if (!ifNotExists) throw idTakenError(job.id, fresh.has(job.id));
    }
    return fresh.size === jobs.length ? jobs : [...fresh.values()];
  }

  async getJob(params: { id: string }): Promise<Job | null> {
    const row = await this.read(() => this.stmt(Q.GET_JOB).get(params.id) as JobRow | undefined);
    return row ? toJob(row) : null;
  }

  async listJobs(params: { states?: JobState[]; limit: number; offset?: number; commandContains?: string }): Promise<Job[]> {
    const offset = params.offset ?? 0;
    const command = params.commandContains ?? null;
    return this.read(() => {
      if (!params.states || params.states.length === 0) {
        return (this.stmt(Q.LIST_JOBS).all(command, command, params.limit, offset) as JobRow[]).map(toJob);
      }
      const rows = params.states.flatMap((state) => this.stmt(Q.LIST_JOBS_IN_STATE).all(state, command, command, params.limit + offset) as (JobRow & { seq: number })[]);
      rows.sort((a, b) => b.created_at - a.created_at || b.seq - a.seq);
      return rows.slice(offset, offset + params.limit).map(toJob);
    });
  }

  async countJobs(): Promise<JobCountsSummary> {
    return this.read(() => {
      const counts = emptyCounts();
      for (const row of this.stmt(Q.COUNT_JOBS).all() as { state: JobState; n: number }[]) counts[row.state] = row.n;
      const now = this.clock.now();
      const oldest = this.stmt(Q.OLDEST_PENDING).get(now, now) as { at: number | null; next: number | null };
      return { counts, oldestPendingAt: oldest.at, nextRunAt: oldest.next, now };
    });
  }

  async listAttempts(params: { jobId: string }) {
    return this.read(() => (this.stmt(Q.LIST_ATTEMPTS).all(params.jobId) as AttemptRow[]).map(toAttempt));
  }

  async readOutput(params: { jobId: string; attempt: number; afterSeq?: number }): Promise<OutputChunk[]> {
    return this.read(() => this.stmt(Q.READ_OUTPUT).all(params.jobId, params.attempt, params.afterSeq ?? 0) as OutputChunk[]);
  }

  // --- Worker side --------------------------------------------------------------------------------------------------

  async claim(params: ClaimParams): Promise<ClaimedJob | null> {
    return this.write(() => this.claimIn(params, this.clock.now()));
  }

  /** The claim's statements, inside the caller's write transaction. */
  private claimIn(params: ClaimParams, now: number): ClaimedJob | null {
    const row = this.stmt(Q.CLAIM_JOB).get({ workerId: params.workerId, leaseMs: params.leaseMs, now }) as JobRow | undefined;
    if (!row) return null;
    this.stmt(Q.INSERT_ATTEMPT).run({ jobId: row.id, attempt: row.runs, workerId: params.workerId, host: params.host, now });
    return { job: toJob(row), attempt: row.runs };
  }

  async recordAttemptProcess(params: { jobId: string; attempt: number; workerId: string; pid: number; pidStart: string | null }): Promise<void> {
    await this.write(() => this.stmt(Q.RECORD_ATTEMPT_PROCESS).run(params));
  }

  async appendOutput(params: AppendOutputParams): Promise<void> {
    if (params.chunks.length === 0 && !params.truncated) return;
    await this.write(() => {
      const { jobId, attempt } = params;
      if (params.truncated) this.stmt(Q.MARK_OUTPUT_LOST).run(jobId, attempt);
      let seq = (this.stmt(Q.OUTPUT_NEXT_SEQ).get(jobId, attempt) as { seq: number }).seq;
      let bytes = 0;
      for (const chunk of params.chunks) {
        this.stmt(Q.INSERT_OUTPUT).run(jobId, attempt, seq++, chunk.stream, chunk.data);
        bytes += Buffer.byteLength(chunk.data);
      }
      const total = (this.stmt(Q.ADD_OUTPUT_BYTES).get({ bytes, jobId, attempt }) as { output_bytes: number } | undefined)?.output_bytes ?? 0;
      if (total > params.limitBytes) this.trimOutput(jobId, attempt, total, params.limitBytes);
    });
  }

  /** Drops the oldest output until the attempt holds at most `limit` bytes, keeping the tail. */
  private trimOutput(jobId: string, attempt: number, total: number, limit: number): void {
    let bytes = total;
    while (bytes > limit) {
      const oldest = this.stmt(Q.OLDEST_OUTPUT).all(jobId, attempt) as { seq: number; data: string }[];
      if (oldest.length === 0) break;
      for (const chunk of oldest) {
        const data = Buffer.from(chunk.data);
        const excess = bytes - limit;
        if (data.length <= excess) {
          this.stmt(Q.DELETE_OUTPUT_CHUNK).run(jobId, attempt, chunk.seq);
          bytes -= data.length;
        } else {
          // Cut at a character boundary: the rest of a split UTF-8 character would decode to a replacement character.
          let start = excess;
          while (start < data.length && (data[start]! & 0xc0) === 0x80) start++;
          this.stmt(Q.REPLACE_OUTPUT_CHUNK).run(data.subarray(start).toString(), jobId, attempt, chunk.seq);
          bytes -= start;
        }
        if (bytes <= limit) break;
      }
    }
    this.stmt(Q.MARK_OUTPUT_TRUNCATED).run({ bytes, jobId, attempt });
  }

  async finishAttempt(params: FinishParams): Promise<boolean> {
    const applied = await this.write(() => this.finishIn(params, this.clock.now()));
    // Only wake workers when dependents became runnable: waking on every completion would stampede busy workers.
    if (applied && applied.promoted > 0) await this.notify();
    return applied !== false;
  }

  async finishAndClaim(params: { finish: FinishParams; claim: ClaimParams }): Promise<{ finished: boolean; next: ClaimedJob | null }> {
    const outcome = await this.write(() => {
      const now = this.clock.now();
      const applied = this.finishIn(params.finish, now);
      return { applied, next: applied ? this.claimIn(params.claim, now) : null };
    });
    if (outcome.applied && outcome.applied.promoted > 0) await this.notify();
    return { finished: outcome.applied !== false, next: outcome.next };
  }

  /** The guarded finish, inside the caller's write transaction; false when the lease was lost. */
  private finishIn(params: FinishParams, now: number): false | { promoted: number } {
    const { jobId, workerId, attempt, result, next } = params;
    const changed = this.stmt(Q.FINISH_JOB).run({
      state: next.state,
      uncounted: next.countsAttempt ? 0 : 1,
      delayMs: next.retryDelayMs,
      error: result.error,
      exitCode: result.exitCode,
      jobId,
      workerId,
      attempt,
      now,
    }).changes;
    if (changed === 0) return false;
    this.stmt(Q.FINISH_ATTEMPT).run({ now, outcome: result.outcome, exitCode: result.exitCode, signal: result.signal, error: result.error, jobId, attempt });
    return { promoted: this.settleDependents(jobId, next.state, now) };
  }

  /** Promotes or cancels the dependents of a finished job; returns how many became pending. */
  private settleDependents(jobId: string, state: JobState, now: number): number {
    if (state === 'completed') return this.stmt(Q.PROMOTE_DEPENDENTS).run({ jobId, now }).changes;
    if (state === 'dead' || state === 'cancelled') {
      const cancelled = this.stmt(Q.CANCEL_DEPENDENTS).all({ jobId, now, reason: `dependency '${jobId}' ended ${state}` }) as { id: string }[];
      for (const row of cancelled) this.recordFinishHook(row.id, now);
    }
    return 0;
  }

  async nextRunAt(): Promise<number | null> {
    return this.read(() => (this.stmt(Q.NEXT_RUN_AT).get({ now: this.clock.now() }) as { at: number | null }).at);
  }

  // --- Workers ------------------------------------------------------------------------------------------------------

  async registerWorker(params: { worker: WorkerIdentity }): Promise<void> {
    await this.write(() => this.stmt(Q.UPSERT_WORKER).run({ ...params.worker, now: this.clock.now() }));
  }

  async heartbeat(params: { workerId: string; state: WorkerState; jobId: string | null; leaseMs: number }): Promise<HeartbeatReply> {
    return this.write(() => {
      const now = this.clock.now();
      const worker = this.stmt(Q.WORKER_HEARTBEAT).get({ workerId: params.workerId, state: params.state, jobId: params.jobId, now }) as
        | { stop_request: StopMode | null }
        | undefined;
      let reply: HeartbeatReply = { stopRequest: worker?.stop_request ?? null, leaseHeld: false, cancelSignal: null, registered: worker !== undefined };
      if (params.jobId !== null) {
        const job = this.stmt(Q.RENEW_LEASE).get({ jobId: params.jobId, workerId: params.workerId, leaseMs: params.leaseMs, now }) as
          | { cancel_signal: string | null }
          | undefined;
        reply = { ...reply, leaseHeld: job !== undefined, cancelSignal: job?.cancel_signal ?? null };
      }
      return reply;
    });
  }

  async listWorkers(params: { staleAfterMs: number }): Promise<WorkerRecord[]> {
    return this.read(() => (this.stmt(Q.LIST_WORKERS).all({ now: this.clock.now(), staleAfterMs: params.staleAfterMs }) as WorkerRow[]).map(toWorker));
  }

  async removeWorker(params: { workerId: string }): Promise<void> {
    await this.write(() => this.stmt(Q.DELETE_WORKER).run(params.workerId));
  }

  async requestStop(params: { mode: StopMode; host?: string }): Promise<string[]> {
    const ids = await this.write(() => {
      const rows = this.stmt(Q.REQUEST_STOP).all({ mode: params.mode, host: params.host ?? null }) as { id: string }[];
      return rows.map((row) => row.id);
    });
    await this.notify();
    return ids;
  }

  /** A job cancelled here, with no worker to report it: a worker runs its on-finish hook later. */
  private recordFinishHook(jobId: string, now: number): void {
    this.stmt(Q.INSERT_FINISH_HOOK).run({ jobId, state: 'cancelled', exitCode: null, now });
  }

  async takeFinishHooks(params: { limit: number }): Promise<EndedJob[]> {
    // Almost always empty: look before taking the write lock.
    if (!(await this.read(() => (this.stmt(Q.ANY_FINISH_HOOK).get() as { found: number }).found))) return [];
    const rows = await this.write(() => this.stmt(Q.TAKE_FINISH_HOOKS).all(params.limit) as { job_id: string; state: JobState; exit_code: number | null }[]);
    return rows.map((row) => ({ jobId: row.job_id, state: row.state, exitCode: row.exit_code }));
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return this.read(() => {
      const rows = this.stmt(Q.LIST_LEASES).all({ now: this.clock.now() }) as {
        job_id: string; attempt: number; attempts: number; max_retries: number; worker_id: string; lease_expired: number;
        host: string; pid: number | null; pid_start: string | null;
        worker_host: string | null; worker_pid: number | null; worker_pid_start: string | null;
      }[];
      return rows.map((row) => ({
        jobId: row.job_id,
        attempt: row.attempt,
        attempts: row.attempts,
        maxRetries: row.max_retries,
        workerId: row.worker_id,
        leaseExpired: row.lease_expired === 1,
        host: row.host,
        pid: row.pid,
        pidStart: row.pid_start,
        worker: row.worker_host === null ? null : { host: row.worker_host, pid: row.worker_pid!, pidStart: row.worker_pid_start },
      }));
    });
  }

  // --- Operator actions -----------------------------------------------------------------------------------------------

  async retryJobs(params: { ids?: string[]; allDead?: boolean }): Promise<string[]> {
    const retried = await this.write(() => {
      const now = this.clock.now();
      const ids = params.allDead ? (this.stmt(Q.LIST_DEAD_IDS).all() as { id: string }[]).map((row) => row.id) : (params.ids ?? []);
      for (const id of ids) {
        if (this.stmt(Q.RETRY_JOB).run({ id, now }).changes === 1) continue;
        const row = this.stmt(Q.GET_JOB_STATE).get(id) as { state: JobState } | undefined;
        if (!row) throw new NotFoundError(`no job with id '${id}'; see 'queuectl list'`);
        throw new ConflictError(`job '${id}' is ${row.state}; only dead or cancelled jobs can be retried`);
      }
      return ids;
    });
    if (retried.length > 0) await this.notify();
    return retried;
  }

  async clearDead(): Promise<number> {
    return this.write(() => {
      const ids = (this.stmt(Q.LIST_DEAD_IDS).all() as { id: string }[]).map((row) => row.id);
      for (const id of ids) this.deleteJob(id);
      return ids.length;
    });
  }

  private deleteJob(id: string): void {
    this.stmt(Q.DELETE_JOB_OUTPUT).run(id);
    this.stmt(Q.DELETE_JOB_ATTEMPTS).run(id);
    this.stmt(Q.DELETE_JOB_DEPS).run(id);
    this.stmt(Q.DELETE_JOB).run(id);
  }

  async cancel(params: { ids: string[]; signal: string }): Promise<CancelResult[]> {
    const results = await this.write(() => {
      const now = this.clock.now();
      const states = params.ids.map((id) => {
        const row = this.stmt(Q.GET_JOB_STATE).get(id) as { state: JobState } | undefined;
        if (!row) throw new NotFoundError(`no job with id '${id}'; see 'queuectl list'`);
        return row.state;
      });
      return params.ids.map((id, i): CancelResult => {
        const state = states[i]!;
        if (state === 'processing') {
          this.stmt(Q.FLAG_CANCEL).run({ id, signal: params.signal, now });
          return { id, action: 'signalled', state };
        }
        if (isTerminal(state)) return { id, action: 'unchanged', state };
        if (this.stmt(Q.CANCEL_QUEUED_JOB).get({ id, reason: 'cancelled by user', now })) this.recordFinishHook(id, now);
        this.settleDependents(id, 'cancelled', now);
        return { id, action: 'cancelled', state: 'cancelled' };
      });
    });
    if (results.some((result) => result.action === 'signalled')) await this.notify();
    return results;
  }

  async purge(params: { states: JobState[]; olderThanMs: number; dryRun: boolean; limit?: number }): Promise<number> {
    return this.write(() => {
      const before = this.clock.now() - params.olderThanMs;
      let remaining = params.limit ?? Number.MAX_SAFE_INTEGER;
      let count = 0;
      for (const state of params.states) {
        const ids = (this.stmt(Q.SELECT_FINISHED_BEFORE).all({ state, before, limit: Math.min(remaining, 1e9) }) as { id: string }[]).map((row) => row.id);
        if (!params.dryRun) for (const id of ids) this.deleteJob(id);
        count += ids.length;
        remaining -= ids.length;
        if (remaining <= 0) break;
      }
      return count;
    });
  }

  // --- Config -------------------------------------------------------------------------------------------------------

  private configSync(): Record<string, string> {
    const config: Record<string, string> = {};
    for (const row of this.stmt(Q.GET_CONFIG).all() as { key: string; value: string }[]) config[row.key] = row.value;
    return config;
  }

  async getConfig(): Promise<Record<string, string>> {
    return this.read(() => this.configSync());
  }

  async setConfig(params: { key: string; value: string }): Promise<void> {
    await this.write(() => this.stmt(Q.SET_CONFIG).run(params.key, params.value));
    await this.notify();
  }

  async unsetConfig(params: { key: string }): Promise<boolean> {
    const removed = await this.write(() => this.stmt(Q.UNSET_CONFIG).run(params.key).changes > 0);
    if (removed) await this.notify();
    return removed;
  }

  // --- Wake-ups: a file beside the database whose timestamp we touch; watchers see it through inotify -------------

  async notify(): Promise<void> {
    const now = new Date();
    try {
      utimesSync(this.wakePath, now, now);
    } catch {
      try {
        closeSync(openSync(this.wakePath, 'a', 0o600));
      } catch {
        // Workers fall back to polling; a lost wake-up only delays a pickup.
      }
    }
  }

  async subscribe(onWake: () => void): Promise<() => Promise<void>> {
    let watcher: FSWatcher | null = null;
    try {
      watcher = watch(this.wakePath, { persistent: false }, () => onWake());
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = null;
    }
    return async () => watcher?.close();
  }

  // --- Schedules: SQL and logic in ./schedules.ts ---------------------------------------------------------------------

  private scheduleStore: SqliteSchedules | undefined;
  private get schedules(): SqliteSchedules {
    return (this.scheduleStore ??= new SqliteSchedules({
      read: (fn) => this.read(fn), write: (fn) => this.write(fn), stmt: (sql) => this.stmt(sql), now: () => this.clock.now(), notify: () => this.notify(),
    }));
  }

  addSchedule(params: AddScheduleParams): Promise<Schedule> { return this.schedules.add(params); }
  getSchedule(params: { name: string }): Promise<Schedule | null> { return this.schedules.get(params); }
  listSchedules(): Promise<Schedule[]> { return this.schedules.list(); }
  removeSchedule(params: { name: string }): Promise<boolean> { return this.schedules.remove(params); }
  setSchedulePaused(params: SetSchedulePausedParams): Promise<Schedule | null> { return this.schedules.setPaused(params); }
  dueSchedules(params: { limit: number }): Promise<{ now: number; schedules: Schedule[] }> { return this.schedules.due(params); }
  fireSchedule(params: FireScheduleParams): Promise<FireScheduleResult> { return this.schedules.fire(params); }
  runSchedule(params: RunScheduleParams): Promise<Job> { return this.schedules.run(params); }
  nextScheduleAt(): Promise<number | null> { return this.schedules.nextAt(); }
}
