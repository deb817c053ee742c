import { isQueueError, StoreUnavailableError, UsageError } from '../../core/errors';
import { emptyCounts, JOB_STATES, type Job, type JobState, type OutputChunk } from '../../core/job';
import type { Schedule } from '../../core/schedule';
import type {
  AddScheduleParams, AppendOutputParams, CallDeadlineParams, CancelParams, CancelResult, ClaimedJob, ClaimParams, DueSchedulesParams,
  DueSchedulesResult, EndedJob, EnqueueParams, EnqueueResult, FinishAndClaimParams, FinishAndClaimResult, FinishParams, FireScheduleParams, SubscribeToEndsParams,
  FireScheduleResult, GetJobParams, GetJobsParams, GetScheduleParams, HeartbeatParams, HeartbeatReply, JobCountsSummary, LateResultParams, LeaseRecord,
  ListAttemptsParams, ListJobsParams, ListWorkersParams, NextRunAtParams, PurgeParams, ReadOutputParams, RecordAttemptProcessParams, RegisterWorkerParams,
  RemoveScheduleParams, RemoveWorkerParams, RequestStopParams, RetryJobsParams, RunScheduleParams, SetConfigParams, ListQueuesParams, SetQueueParams, SetSchedulePausedParams,
  StopMode, Store, TakeFinishHooksParams, UnsetConfigParams, WorkerRecord,
} from '../store';
import type { QueueRecord } from '../../core/queue-settings';
import { clientConfig, Database, reasonOf, redactUrl } from './connection';
import { enqueueJobs } from './enqueue';
import { WakeListener } from './listener';
import { migrate } from './migrate';
import { compileQueries, SCHEMA_NAME_PATTERN, type Queries } from './queries';
import { cancelIn, clearDeadIn, purgeIn, retryJobsIn } from './operator';
import { appendOutput } from './output';
import { PostgresSchedules } from './schedules';
import { claimArgs, claimedJobs, finishJobsArgs } from './finish';
import { PostgresQueues } from './queues';
import { PostgresStats } from './stats';
import type {
  AttemptTotals, AttemptTotalsParams, CappedJobCounts, CountJobsCappedParams, DeleteDeadJobsParams, FinishedStats, FinishedStatsParams, JobPage, PageJobsParams,
} from '../store';
import {
  toAttempt, toConfig, toJob, toLease, toOutputChunk, toWorker, type AttemptRow, type JobRow, type LeaseRow, type OutputRow, type WorkerRow,
} from './rows';

/** What `PostgresStore.open` takes: the options of `openStore` that apply to PostgreSQL. */
export interface PostgresStoreOptions {
  /** `normal` commits without waiting for the WAL flush (workers); `full` (the default) waits. */
  durability?: 'full' | 'normal';
  /** The schema holding queuectl's tables (default `$QUEUECTL_SCHEMA`, else `queuectl`). */
  schema?: string;
  /**
   * Pooled connections (default 4). A worker process asks for 1: its statements then share one connection, and with
   * its LISTEN connection it holds 2 whatever its concurrency.
   */
  poolSize?: number;
  /** False for commands that only read: a schema without queuectl's tables is NotFoundError, not created. */
  create?: boolean;
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
  /** Workers' wake-ups travel here. */
  private readonly channel: string;
  /**
   * Job ends (Store.subscribeToEnds, for `wait`) travel on a channel of their own, so workers' listeners never receive
   * them. Both names fit PostgreSQL's 63 bytes beside a schema name of up to 54.
   */
  private readonly endsChannel: string;

  private constructor(
    private readonly db: Database,
    private readonly Q: Queries,
    private readonly url: string,
    private readonly schema: string,
  ) {
    this.channel = `queuectl_${schema}`;
    this.endsChannel = `qc_ended_${schema}`;
  }

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
      db = new Database(url, location, prepared, { asyncCommit: options.durability === 'normal', poolSize: options.poolSize });
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
      await migrate({ schema, location, queries: Q, db, create: options.create ?? true });
    } catch (err) {
      await db.end();
      if (isQueueError(err)) throw err;
      throw new StoreUnavailableError(`cannot set up schema "${schema}" in PostgreSQL at ${location}: ${reasonOf(err)}; check the role's privileges`);
    }
    return new PostgresStore(db, Q, url, schema);
  }

  async now(): Promise<number> {
    return (await this.db.query<{ now: number }>(this.Q.NOW))[0]!.now;
  }

  setCallDeadline(params: CallDeadlineParams): void {
    this.db.setDeadline(params.ms);
  }

  async close(): Promise<void> {
    const listeners = [...this.listeners];
    this.listeners.clear();
    await Promise.all(listeners.map((listener) => listener.close()));
    await this.db.end();
  }

  // --- Jobs ---------------------------------------------------------------------------------------------------------

  async enqueue(params: EnqueueParams): Promise<EnqueueResult[]> {
    if (params.jobs.length === 0) return [];
    return this.db.transaction(async (tx) => {
      const results = await enqueueJobs(tx, this.Q, params);
      if (results.some((result) => result.created)) await tx.query(this.Q.NOTIFY, [this.channel]);
      return results;
    });
  }

  async getJob(params: GetJobParams): Promise<Job | null> {
    const row = (await this.db.query<JobRow>(this.Q.GET_JOB, [params.id]))[0];
    return row ? toJob(row) : null;
  }

  async getJobs(params: GetJobsParams): Promise<Job[]> {
    if (params.ids.length === 0) return [];
    return (await this.db.query<JobRow>(this.Q.GET_JOBS, [params.ids])).map(toJob);
  }

  async listJobs(params: ListJobsParams): Promise<Job[]> {
    const states = !params.states || params.states.length === 0 ? JOB_STATES : params.states;
    const values = [states, params.limit, params.commandContains ?? null, params.offset ?? 0, params.queue ?? null];
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

  async listAttempts(params: ListAttemptsParams) {
    return (await this.db.query<AttemptRow>(this.Q.LIST_ATTEMPTS, [params.jobId])).map(toAttempt);
  }

  async readOutput(params: ReadOutputParams): Promise<OutputChunk[]> {
    return (await this.db.query<OutputRow>(this.Q.READ_OUTPUT, [params.jobId, params.attempt, params.afterSeq ?? 0])).map(toOutputChunk);
  }

  // --- Worker side --------------------------------------------------------------------------------------------------

  async claim(params: ClaimParams): Promise<ClaimedJob[]> {
    const row = (await this.db.query<{ jobs: JobRow[] | null }>(this.Q.CLAIM_JOBS, [...claimArgs(params), this.channel]))[0];
    return claimedJobs(row?.jobs ?? null);
  }

  async recordAttemptProcess(params: RecordAttemptProcessParams): Promise<void> {
    await this.db.execute(this.Q.RECORD_ATTEMPT_PROCESS, [params.jobId, params.attempt, params.workerId, params.pid, params.pidStart]);
  }

  async appendOutput(params: AppendOutputParams): Promise<void> {
    await appendOutput(this.db, this.Q, params);
  }

  async recordLateResult(params: LateResultParams): Promise<boolean> {
    const { jobId, workerId, attempt, result } = params;
    const changed = await this.db.execute(this.Q.RECORD_LATE_RESULT, [jobId, attempt, workerId, 'worker_lost', result.outcome, result.exitCode, result.signal, result.error]);
    return changed > 0;
  }

  /**
   * One round trip, which also wakes idle workers when that is called for: dependents became runnable, or a slot of a
   * queue with a concurrency limit was freed (waking on every completion would stampede busy workers).
   */
  async finishAttempt(params: FinishParams): Promise<boolean> {
    return (await this.finishJobs(params.workerId, [params], null)).finished[0]!;
  }

  /** One round trip (see migration 11); the claim is made for the reporting worker, and wakes as finishAttempt does. */
  async finishAndClaim(params: FinishAndClaimParams): Promise<FinishAndClaimResult> {
    const workerIds = new Set(params.finishes.map((finish) => finish.workerId));
    if (workerIds.size !== 1 || !workerIds.has(params.claim.workerId)) throw new Error('finishAndClaim: every finish must be the claiming worker\'s');
    return this.finishJobs(params.claim.workerId, params.finishes, params.claim);
  }

  private async finishJobs(workerId: string, finishes: FinishParams[], claim: ClaimParams | null): Promise<FinishAndClaimResult> {
    const [row] = await this.db.query<{ applied: boolean[]; jobs: JobRow[] | null }>(this.Q.FINISH_JOBS_AND_CLAIM, [
      ...finishJobsArgs(workerId, finishes, claim), this.channel, this.endsChannel,
    ]);
    return { finished: finishes.map((_, i) => row?.applied[i] === true), next: claimedJobs(row?.jobs ?? null) };
  }

  async nextRunAt(params: NextRunAtParams): Promise<number | null> {
    return (await this.db.query<{ at: number | null }>(this.Q.NEXT_RUN_AT, [params.queues]))[0]!.at;
  }

  // --- Workers ------------------------------------------------------------------------------------------------------

  async registerWorker(params: RegisterWorkerParams): Promise<void> {
    const { id, host, pid, pidStart } = params.worker;
    await this.db.execute(this.Q.UPSERT_WORKER, [id, host, pid, pidStart, params.concurrency, params.queues === null ? null : JSON.stringify(params.queues)]);
  }

  async heartbeat(params: HeartbeatParams): Promise<HeartbeatReply> {
    const [row] = await this.db.query<{ stop_request: StopMode | null; registered: boolean; lost: string[]; cancels: { jobId: string; signal: string }[] | null }>(
      this.Q.HEARTBEAT, [params.workerId, params.state, params.jobIds, params.leaseMs],
    );
    return { stopRequest: row?.stop_request ?? null, lost: row?.lost ?? [...params.jobIds], cancels: row?.cancels ?? [], registered: row?.registered ?? false };
  }

  async listWorkers(params: ListWorkersParams): Promise<WorkerRecord[]> {
    return (await this.db.query<WorkerRow>(this.Q.LIST_WORKERS, [params.staleAfterMs])).map(toWorker);
  }

  async removeWorker(params: RemoveWorkerParams): Promise<void> {
    await this.db.execute(this.Q.DELETE_WORKER, [params.workerId]);
  }

  async requestStop(params: RequestStopParams): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string }>(this.Q.REQUEST_STOP, [params.mode, params.host ?? null]);
      await tx.query(this.Q.NOTIFY, [this.channel]);
      return rows.map((row) => row.id);
    });
  }

  async takeFinishHooks(params: TakeFinishHooksParams): Promise<EndedJob[]> {
    const rows = await this.db.query<{ job_id: string; state: JobState; exit_code: number | null }>(this.Q.TAKE_FINISH_HOOKS, [params.limit]);
    return rows.map((row) => ({ jobId: row.job_id, state: row.state, exitCode: row.exit_code }));
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return (await this.db.query<LeaseRow>(this.Q.LIST_LEASES)).map(toLease);
  }

  // --- Operator actions: the transaction bodies are in ./operator.ts --------------------------------------------------

  async retryJobs(params: RetryJobsParams): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const ids = await retryJobsIn(tx, this.Q, params);
      if (ids.length > 0) await tx.query(this.Q.NOTIFY, [this.channel]);
      return ids;
    });
  }

  async clearDead(): Promise<number> {
    return this.db.transaction((tx) => clearDeadIn(tx, this.Q));
  }

  async cancel(params: CancelParams): Promise<CancelResult[]> {
    return this.db.transaction(async (tx) => {
      const results = await cancelIn(tx, this.Q, params);
      if (results.some((result) => result.action === 'signalled')) await tx.query(this.Q.NOTIFY, [this.channel]);
      if (results.some((result) => result.action === 'cancelled')) await tx.query(this.Q.NOTIFY, [this.endsChannel]);
      return results;
    });
  }

  async purge(params: PurgeParams): Promise<number> {
    return this.db.transaction((tx) => purgeIn(tx, this.Q, params));
  }

  // --- Queues: SQL in ./queues.ts -----------------------------------------------------------------------------------

  private queueStore: PostgresQueues | undefined;
  private get queues(): PostgresQueues {
    return (this.queueStore ??= new PostgresQueues({ db: this.db, schema: this.schema, channel: this.channel }));
  }

  listQueues(params: ListQueuesParams = {}): Promise<QueueRecord[]> { return this.queues.list(params.cap); }
  setQueue(params: SetQueueParams): Promise<QueueRecord> { return this.queues.set(params); }

  // --- Config -------------------------------------------------------------------------------------------------------

  async getConfig(): Promise<Record<string, string>> {
    return toConfig(await this.db.query<{ key: string; value: string }>(this.Q.GET_CONFIG));
  }

  async setConfig(params: SetConfigParams): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(this.Q.SET_CONFIG, [params.key, params.value]);
      await tx.query(this.Q.NOTIFY, [this.channel]);
    });
  }

  async unsetConfig(params: UnsetConfigParams): Promise<boolean> {
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
    return this.listen(this.channel, onWake);
  }

  /** Listens first, then marks the jobs: an end committed after the mark is announced, one before it is read. */
  async subscribeToEnds(params: SubscribeToEndsParams): Promise<() => Promise<void>> {
    const unlisten = await this.listen(this.endsChannel, params.onEnd);
    try {
      if (params.jobIds.length > 0) await this.db.execute(this.Q.WATCH_ENDS, [params.jobIds]);
    } catch (err) {
      await unlisten();
      throw err;
    }
    return unlisten;
  }

  private async listen(channel: string, onWake: () => void): Promise<() => Promise<void>> {
    const listener = new WakeListener(clientConfig(this.url), channel, onWake);
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
    const schema = this.schema;
    return (this.scheduleStore ??= new PostgresSchedules({ db: this.db, Q: this.Q, schema, channel: this.channel }));
  }

  addSchedule(params: AddScheduleParams): Promise<Schedule> { return this.schedules.add(params); }
  getSchedule(params: GetScheduleParams): Promise<Schedule | null> { return this.schedules.get(params); }
  listSchedules(): Promise<Schedule[]> { return this.schedules.list(); }
  removeSchedule(params: RemoveScheduleParams): Promise<boolean> { return this.schedules.remove(params); }
  setSchedulePaused(params: SetSchedulePausedParams): Promise<Schedule | null> { return this.schedules.setPaused(params); }
  dueSchedules(params: DueSchedulesParams): Promise<DueSchedulesResult> { return this.schedules.due(params); }
  fireSchedule(params: FireScheduleParams): Promise<FireScheduleResult> { return this.schedules.fire(params); }
  runSchedule(params: RunScheduleParams): Promise<Job> { return this.schedules.run(params); }
  nextScheduleAt(): Promise<number | null> { return this.schedules.nextAt(); }

  // --- Stats: SQL in ./stats.ts ------------------------------------------------------------------------------------

  private statsStore: PostgresStats | undefined;
  private get stats(): PostgresStats {
    return (this.statsStore ??= new PostgresStats({ db: this.db, schema: this.schema }));
  }

  countJobsCapped(params: CountJobsCappedParams): Promise<CappedJobCounts> { return this.stats.countCapped(params); }
  pageJobs(params: PageJobsParams): Promise<JobPage> { return this.stats.page(params); }
  finishedStats(params: FinishedStatsParams): Promise<FinishedStats> { return this.stats.finished(params); }
  attemptTotals(params: AttemptTotalsParams): Promise<AttemptTotals> { return this.stats.totals(params); }
  deleteDeadJobs(params: DeleteDeadJobsParams): Promise<string[]> { return this.stats.deleteDead(params); }
}
