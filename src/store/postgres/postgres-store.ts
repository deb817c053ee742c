import { isQueueError, NotFoundError, ConflictError, StoreUnavailableError, UsageError } from '../../core/errors';
import { emptyCounts, isTerminal, JOB_STATES, type Job, type JobState, type OutputChunk } from '../../core/job';
import type { NewJob } from '../../core/job-spec';
import type { Schedule } from '../../core/schedule';
import type {
  AppendOutputParams, CancelResult, ClaimedJob, ClaimParams, EndedJob, EnqueueResult, FinishParams, HeartbeatReply, JobCountsSummary, LeaseRecord, StopMode, Store,
  WorkerIdentity, WorkerRecord, WorkerState,
} from '../store';
import type { AddScheduleParams, FireScheduleParams, FireScheduleResult, RunScheduleParams, SetSchedulePausedParams } from '../store';
import { clientConfig, Database, reasonOf, redactUrl, type Executor } from './connection';
import { enqueueJobs } from './enqueue';
import { WakeListener } from './listener';
import { migrate } from './migrate';
import { compileQueries, SCHEMA_NAME_PATTERN, type Queries } from './queries';
import { PostgresSchedules } from './schedules';
import {
  toAttempt, toConfig, toJob, toLease, toOutputChunk, toWorker, type AttemptRow, type JobRow, type LeaseRow, type OutputRow, type WorkerRow,
} from './rows';

/** What `PostgresStore.open` takes: the options of `openStore` that apply to PostgreSQL. */
export interface PostgresStoreOptions {
  /** `normal` commits without waiting for the WAL flush (workers); `full` (the default) waits. */
  durability?: 'full' | 'normal';
  /** The schema holding queuectl's tables (default `$QUEUECTL_SCHEMA`, else `queuectl`). */
  schema?: string;
}

/** Statements run before the schema is complete, or once per process: never prepared. */
const UNPREPARED = new Set(['MIGRATION_LOCK', 'CREATE_SCHEMA', 'CREATE_MIGRATIONS_TABLE', 'SCHEMA_VERSION', 'RECORD_MIGRATION']);

/**
 * The shared store: one PostgreSQL schema, reached by every host. Time is always the database's `now()`, so hosts
 * with skewed clocks agree on leases, backoff and staleness; `options.clock` does not apply. `durability: 'normal'`
 * (workers) commits without waiting for the WAL flush, as SQLite's `normal` does. Wake-ups travel by NOTIFY on a channel named after the schema.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly listeners = new Set<WakeListener>();

  private constructor(
    private readonly db: Database,
    private readonly Q: Queries,
    private readonly url: string,
    private readonly channel: string,
  ) {}

  get location(): string {
    return this.db.location;
  }

  /**
   * Connects and migrates the schema `options.schema ?? $QUEUECTL_SCHEMA ?? 'queuectl'`.
   * Throws UsageError for a bad schema name and StoreUnavailableError when the server cannot be used.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
    const schema = options.schema ?? process.env.QUEUECTL_SCHEMA ?? 'queuectl';
    if (!SCHEMA_NAME_PATTERN.test(schema)) {
      throw new UsageError(
        `schema ${JSON.stringify(schema)} is not a simple name (1-54 letters, digits or _, not starting with a digit); check QUEUECTL_SCHEMA`,
      );
    }
    const location = redactUrl(url);
    const Q = compileQueries(schema);
    const prepared = new Map(Object.entries(Q).filter(([key]) => !UNPREPARED.has(key)).map(([key, sql]) => [sql, `queuectl_${key.toLowerCase()}`]));
    let db: Database;
    try {
      db = new Database(url, location, prepared, options.durability === 'normal');
    } catch (err) {
      throw new StoreUnavailableError(`cannot connect to PostgreSQL at ${location}: ${reasonOf(err)}; check --db / QUEUECTL_DB`);
    }
    try {
      await db.query(Q.NOW);
    } catch (err) {
      await db.end();
      throw new StoreUnavailableError(
        `cannot connect to PostgreSQL at ${location}: ${reasonOf((err as Error).cause ?? err)}; check --db / QUEUECTL_DB and that the server is running`,
      );
    }
    try {
      await migrate({ schema, location, queries: Q, db });
    } catch (err) {
      await db.end();
      if (isQueueError(err)) throw err;
      throw new StoreUnavailableError(`cannot set up schema "${schema}" in PostgreSQL at ${location}: ${reasonOf(err)}; check the role's privileges`);
    }
    return new PostgresStore(db, Q, url, `queuectl_${schema}`);
  }

  async now(): Promise<number> {
    return (await this.db.query<{ now: number }>(this.Q.NOW))[0]!.now;
  }

  setCallDeadline(params: { ms: number | null }): void {
    this.db.setDeadline(params.ms);
  }

  async close(): Promise<void> {
    const listeners = [...this.listeners];
    this.listeners.clear();
    await Promise.all(listeners.map((listener) => listener.close()));
    await this.db.end();
  }

  // --- Jobs ---------------------------------------------------------------------------------------------------------

  async enqueue(params: { jobs: NewJob[]; ifNotExists: boolean }): Promise<EnqueueResult[]> {
    if (params.jobs.length === 0) return [];
    return this.db.transaction(async (tx) => {
      const results = await enqueueJobs(tx, this.Q, params);
      if (results.some((result) => result.created)) await tx.query(this.Q.NOTIFY, [this.channel]);
      return results;
    });
  }

  async getJob(params: { id: string }): Promise<Job | null> {
    const row = (await this.db.query<JobRow>(this.Q.GET_JOB, [params.id]))[0];
    return row ? toJob(row) : null;
  }

  async listJobs(params: { states?: JobState[]; limit: number; offset?: number; commandContains?: string }): Promise<Job[]> {
    const states = !params.states || params.states.length === 0 ? JOB_STATES : params.states;
    const values = [states, params.limit, params.commandContains ?? null, params.offset ?? 0];
    return (await this.db.query<JobRow>(this.Q.LIST_JOBS_IN_STATES, values)).map(toJob);
  }

  async countJobs(): Promise<JobCountsSummary> {
    const [rows, oldest] = await Promise.all([
      this.db.query<{ state: JobState; n: number }>(this.Q.COUNT_JOBS),
      this.db.query<{ at: number | null; next: number | null; now: number }>(this.Q.OLDEST_PENDING),
    ]);
    const counts = emptyCounts();
    for (const row of rows) counts[row.state] = row.n;
    return { counts, oldestPendingAt: oldest[0]!.at, nextRunAt: oldest[0]!.next, now: oldest[0]!.now };
  }

  async listAttempts(params: { jobId: string }) {
    return (await this.db.query<AttemptRow>(this.Q.LIST_ATTEMPTS, [params.jobId])).map(toAttempt);
  }

  async readOutput(params: { jobId: string; attempt: number; afterSeq?: number }): Promise<OutputChunk[]> {
    return (await this.db.query<OutputRow>(this.Q.READ_OUTPUT, [params.jobId, params.attempt, params.afterSeq ?? 0])).map(toOutputChunk);
  }

  // --- Worker side --------------------------------------------------------------------------------------------------

  async claim(params: ClaimParams): Promise<ClaimedJob | null> {
    const row = (await this.db.query<{ job: JobRow | null }>(this.Q.CLAIM_JOB, [params.workerId, params.leaseMs, params.host]))[0];
    return claimedJob(row?.job ?? null);
  }

  async recordAttemptProcess(params: { jobId: string; attempt: number; workerId: string; pid: number; pidStart: string | null }): Promise<void> {
    await this.db.execute(this.Q.RECORD_ATTEMPT_PROCESS, [params.jobId, params.attempt, params.workerId, params.pid, params.pidStart]);
  }

  async appendOutput(params: AppendOutputParams): Promise<void> {
    if (params.chunks.length === 0) {
      if (params.truncated) await this.db.query(this.Q.MARK_OUTPUT_LOST, [params.jobId, params.attempt]);
      return;
    }
    const { jobId, attempt, limitBytes } = params;
    const data = params.chunks.map((chunk) => Buffer.from(chunk.data, 'utf8'));
    const bytes = data.reduce((sum, buffer) => sum + buffer.length, 0);
    await this.db.transaction(async (tx) => {
      if (params.truncated) await tx.query(this.Q.MARK_OUTPUT_LOST, [jobId, attempt]);
      const total = (await tx.query<{ output_bytes: number }>(this.Q.ADD_OUTPUT_BYTES, [bytes, jobId, attempt]))[0]?.output_bytes ?? 0;
      const seq = (await tx.query<{ seq: number }>(this.Q.OUTPUT_NEXT_SEQ, [jobId, attempt]))[0]!.seq;
      await tx.query(this.Q.INSERT_OUTPUT, [jobId, attempt, seq, params.chunks.map((chunk) => chunk.stream), data]);
      if (total > limitBytes) await this.trimOutput(tx, jobId, attempt, total, limitBytes);
    });
  }

  /** Drops the oldest output until the attempt holds at most `limit` bytes, keeping the tail. */
  private async trimOutput(tx: Executor, jobId: string, attempt: number, total: number, limit: number): Promise<void> {
    let bytes = total;
    while (bytes > limit) {
      const oldest = await tx.query<{ seq: number; data: Buffer }>(this.Q.OLDEST_OUTPUT, [jobId, attempt]);
      if (oldest.length === 0) break;
      for (const chunk of oldest) {
        const excess = bytes - limit;
        if (chunk.data.length <= excess) {
          await tx.query(this.Q.DELETE_OUTPUT_CHUNK, [jobId, attempt, chunk.seq]);
          bytes -= chunk.data.length;
        } else {
          // Cut at a character boundary: the rest of a split UTF-8 character would decode to a replacement character.
          let start = excess;
          while (start < chunk.data.length && (chunk.data[start]! & 0xc0) === 0x80) start++;
          await tx.query(this.Q.REPLACE_OUTPUT_CHUNK, [jobId, attempt, chunk.seq, chunk.data.subarray(start)]);
          bytes -= start;
        }
        if (bytes <= limit) break;
      }
    }
    await tx.query(this.Q.MARK_OUTPUT_TRUNCATED, [jobId, attempt, bytes]);
  }

  async finishAttempt(params: FinishParams): Promise<boolean> {
    const [row] = await this.db.query<{ applied: boolean; promoted: number }>(this.Q.FINISH_JOB, finishArgs(params));
    await this.wakeForPromoted(row?.promoted ?? 0);
    return row?.applied === true;
  }

  /** One round trip (see migration 3); the claim is made for the reporting worker. */
  async finishAndClaim(params: { finish: FinishParams; claim: ClaimParams }): Promise<{ finished: boolean; next: ClaimedJob | null }> {
    const [row] = await this.db.query<{ applied: boolean; promoted: number; job: JobRow | null }>(this.Q.FINISH_AND_CLAIM, [
      ...finishArgs(params.finish), params.claim.leaseMs, params.claim.host,
    ]);
    if (!row?.applied) return { finished: false, next: null };
    await this.wakeForPromoted(row.promoted);
    return { finished: true, next: claimedJob(row.job) };
  }

  /** Only dependents that became runnable wake workers: waking on every completion would stampede busy workers. */
  private async wakeForPromoted(promoted: number): Promise<void> {
    if (promoted > 0) await this.db.query(this.Q.NOTIFY, [this.channel]);
  }

  async nextRunAt(): Promise<number | null> {
    return (await this.db.query<{ at: number | null }>(this.Q.NEXT_RUN_AT))[0]!.at;
  }

  // --- Workers ------------------------------------------------------------------------------------------------------

  async registerWorker(params: { worker: WorkerIdentity }): Promise<void> {
    const { id, host, pid, pidStart } = params.worker;
    await this.db.execute(this.Q.UPSERT_WORKER, [id, host, pid, pidStart]);
  }

  async heartbeat(params: { workerId: string; state: WorkerState; jobId: string | null; leaseMs: number }): Promise<HeartbeatReply> {
    const [row] = await this.db.query<{ stop_request: StopMode | null; registered: boolean; lease_held: boolean; cancel_signal: string | null }>(
      this.Q.HEARTBEAT, [params.workerId, params.state, params.jobId, params.leaseMs],
    );
    return {
      stopRequest: row?.stop_request ?? null, leaseHeld: row?.lease_held ?? false, cancelSignal: row?.cancel_signal ?? null, registered: row?.registered ?? false,
    };
  }

  async listWorkers(params: { staleAfterMs: number }): Promise<WorkerRecord[]> {
    return (await this.db.query<WorkerRow>(this.Q.LIST_WORKERS, [params.staleAfterMs])).map(toWorker);
  }

  async removeWorker(params: { workerId: string }): Promise<void> {
    await this.db.execute(this.Q.DELETE_WORKER, [params.workerId]);
  }

  async requestStop(params: { mode: StopMode; host?: string }): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string }>(this.Q.REQUEST_STOP, [params.mode, params.host ?? null]);
      await tx.query(this.Q.NOTIFY, [this.channel]);
      return rows.map((row) => row.id);
    });
  }

  async takeFinishHooks(params: { limit: number }): Promise<EndedJob[]> {
    const rows = await this.db.query<{ job_id: string; state: JobState; exit_code: number | null }>(this.Q.TAKE_FINISH_HOOKS, [params.limit]);
    return rows.map((row) => ({ jobId: row.job_id, state: row.state, exitCode: row.exit_code }));
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return (await this.db.query<LeaseRow>(this.Q.LIST_LEASES)).map(toLease);
  }

  // --- Operator actions ---------------------------------------------------------------------------------------------

  async retryJobs(params: { ids?: string[]; allDead?: boolean }): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const ids = params.allDead ? (await tx.query<{ id: string }>(this.Q.LOCK_DEAD_IDS)).map((row) => row.id) : (params.ids ?? []);
      if (ids.length === 0) return ids;
      const retried = new Set((await tx.query<{ id: string }>(this.Q.RETRY_JOBS, [ids])).map((row) => row.id));
      // Name the first id that could not be retried, as a one-by-one retry would (a repeated id is pending by then).
      const firstIndex = new Map<string, number>();
      ids.forEach((id, i) => firstIndex.set(id, firstIndex.get(id) ?? i));
      const failed = ids.find((id, i) => !retried.has(id) || firstIndex.get(id) !== i);
      if (failed !== undefined) {
        const state = retried.has(failed) ? 'pending' : (await tx.query<{ state: JobState }>(this.Q.LOCK_JOB_STATES, [[failed]]))[0]?.state;
        if (state === undefined) throw new NotFoundError(`no job with id '${failed}'; see 'queuectl list'`);
        throw new ConflictError(`job '${failed}' is ${state}; only dead or cancelled jobs can be retried`);
      }
      await tx.query(this.Q.NOTIFY, [this.channel]);
      return ids;
    });
  }

  async clearDead(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const ids = (await tx.query<{ id: string }>(this.Q.LOCK_DEAD_IDS)).map((row) => row.id);
      if (ids.length > 0) await tx.query(this.Q.DELETE_JOBS, [ids]);
      return ids.length;
    });
  }

  async cancel(params: { ids: string[]; signal: string }): Promise<CancelResult[]> {
    return this.db.transaction(async (tx) => {
      const found = new Map<string, JobState>();
      for (const row of await tx.query<{ id: string; state: JobState }>(this.Q.LOCK_JOB_STATES, [params.ids])) found.set(row.id, row.state);
      const missing = params.ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError(`no job with id '${missing}'; see 'queuectl list'`);
      const results: CancelResult[] = [];
      for (const id of params.ids) {
        const state = found.get(id)!;
        if (state === 'processing') {
          await tx.query(this.Q.FLAG_CANCEL, [id, params.signal]);
          results.push({ id, action: 'signalled', state });
        } else if (isTerminal(state)) {
          results.push({ id, action: 'unchanged', state });
        } else {
          await tx.query(this.Q.CANCEL_QUEUED_JOB, [id, 'cancelled by user']);
          await tx.query(this.Q.CANCEL_DEPENDENTS, [id, 'cancelled']);
          results.push({ id, action: 'cancelled', state: 'cancelled' });
        }
      }
      if (results.some((result) => result.action === 'signalled')) await tx.query(this.Q.NOTIFY, [this.channel]);
      return results;
    });
  }

  async purge(params: { states: JobState[]; olderThanMs: number; dryRun: boolean; limit?: number }): Promise<number> {
    return this.db.transaction(async (tx) => {
      let remaining = params.limit ?? Number.MAX_SAFE_INTEGER;
      let count = 0;
      for (const state of params.states) {
        const ids = (await tx.query<{ id: string }>(this.Q.SELECT_FINISHED_BEFORE, [state, params.olderThanMs, Math.min(remaining, 1e9)])).map((row) => row.id);
        if (!params.dryRun && ids.length > 0) await tx.query(this.Q.DELETE_JOBS, [ids]);
        count += ids.length;
        remaining -= ids.length;
        if (remaining <= 0) break;
      }
      return count;
    });
  }

  // --- Config -------------------------------------------------------------------------------------------------------

  async getConfig(): Promise<Record<string, string>> {
    return toConfig(await this.db.query<{ key: string; value: string }>(this.Q.GET_CONFIG));
  }

  async setConfig(params: { key: string; value: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(this.Q.SET_CONFIG, [params.key, params.value]);
      await tx.query(this.Q.NOTIFY, [this.channel]);
    });
  }

  async unsetConfig(params: { key: string }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const removed = (await tx.execute(this.Q.UNSET_CONFIG, [params.key])) > 0;
      if (removed) await tx.query(this.Q.NOTIFY, [this.channel]);
      return removed;
    });
  }

  // --- Wake-ups: NOTIFY on the schema's channel, one LISTEN connection per subscriber ---------------------------------

  async notify(): Promise<void> {
    await this.db.query(this.Q.NOTIFY, [this.channel]);
  }

  async subscribe(onWake: () => void): Promise<() => Promise<void>> {
    const listener = new WakeListener(clientConfig(this.url), this.channel, onWake);
    this.listeners.add(listener);
    await listener.start();
    return async () => {
      this.listeners.delete(listener);
      await listener.close();
    };
  }

  // --- Schedules: SQL and logic in ./schedules.ts ---------------------------------------------------------------------

  private scheduleStore: PostgresSchedules | undefined;
  private get schedules(): PostgresSchedules {
    // The channel is `queuectl_<schema>` (see open()).
    const schema = this.channel.slice('queuectl_'.length);
    return (this.scheduleStore ??= new PostgresSchedules({ db: this.db, Q: this.Q, schema, channel: this.channel }));
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

/** finish_job's arguments: $1..$10 of FINISH_JOB and FINISH_AND_CLAIM. */
function finishArgs(params: FinishParams): unknown[] {
  const { jobId, workerId, attempt, result, next } = params;
  return [
    next.state, next.countsAttempt ? 0 : 1, next.retryDelayMs, result.error, result.exitCode, jobId, workerId, attempt,
    result.outcome, result.signal,
  ];
}

/** A claimed job from claim_job's json row (null: nothing was due). */
function claimedJob(row: JobRow | null): ClaimedJob | null {
  return row ? { job: toJob(row), attempt: row.runs } : null;
}
