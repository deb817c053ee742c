import { systemClock, type Clock } from '../../core/clock';
import { isQueueError, StoreUnavailableError } from '../../core/errors';
import { emptyCounts, isTerminal, type Job, type JobState, type OutputChunk } from '../../core/job';
import type { QueueRecord } from '../../core/queue-settings';
import type { Schedule } from '../../core/schedule';
import type {
  AddScheduleParams, AppendOutputParams, CallDeadlineParams, CancelParams, CancelResult, ClaimedJob, ClaimParams, DueSchedulesParams,
  DueSchedulesResult, EndedJob, EnqueueParams, EnqueueResult, FinishAndClaimParams, FinishAndClaimResult, FinishParams, FireScheduleParams, SubscribeToEndsParams,
  FireScheduleResult, GetJobParams, GetJobsParams, GetScheduleParams, HeartbeatParams, HeartbeatReply, JobCountsSummary, LateResultParams, LeaseRecord, ListAttemptsParams,
  ListJobsParams, ListWorkersParams, NextRunAtParams, PurgeParams, ReadOutputParams, RecordAttemptProcessParams, RegisterWorkerParams, RemoveScheduleParams,
  RemoveWorkerParams, RequestStopParams, RetryJobsParams, RunScheduleParams, SetConfigParams, ListQueuesParams, SetQueueParams, SetSchedulePausedParams, StopMode, Store,
  TakeFinishHooksParams, UnsetConfigParams, WorkerRecord,
} from '../store';
import { translateOpenError } from './file-checks';
import { Connection, openDatabaseFile } from './connection';
import { enqueueJobs } from './enqueue';
import { claimIn, nextRunAtIn } from './claim';
import { finishIn, type FinishApplied } from './finish';
import { migrate } from './migrate';
import { cancelIn, clearDeadIn, purgeIn, retryJobsIn } from './operator';
import { appendOutputIn } from './output';
import { SqliteQueues } from './queues';
import { SqliteSchedules } from './schedules';
import { SqliteStats } from './stats';
import type {
  AttemptTotals, AttemptTotalsParams, CappedJobCounts, CountJobsCappedParams, DeleteDeadJobsParams, FinishedStats, FinishedStatsParams, JobPage, PageJobsParams,
} from '../store';
import * as Q from './queries';
import { WakeFile } from './wakeups';
import { toAttempt, toConfig, toJob, toLease, toWorker, type AttemptRow, type ConfigRow, type JobRow, type LeaseRow, type WorkerRow } from '../rows';

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

/**
 * The embedded store: one SQLite file in WAL mode, shared by every process on this host. The SQL is in ./queries.ts,
 * the transaction bodies in the files beside this one; this class runs them and wakes workers.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly clock: Clock;
  private readonly wake: WakeFile;
  /** Touched when a job ends (Store.subscribeToEnds). */
  private readonly ends: WakeFile;

  private constructor(private readonly db: Connection, readonly location: string, options: SqliteStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.wake = new WakeFile(`${location}-wake`);
    this.ends = new WakeFile(`${location}-ended`);
  }

  /** Opens (creating with owner-only permissions if needed) and migrates the database at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const db = new Connection(openDatabaseFile(path), path, options.busyTimeoutMs ?? 30_000);
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
    migrate(this.db);
    this.db.db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    // Checkpoint every 4,000 WAL pages (16 MiB) rather than SQLite's 1,000: a worker's claim rewrites the same few hot
    // pages, which a checkpoint copies once however often they changed. Measured here: 4% less CPU per drained job.
    this.db.db.pragma('wal_autocheckpoint = 4000');
    this.wake.ensure();
    this.ends.ensure();
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  /** Statements run in-process and never hang; only the wait for another process's lock is bounded. */
  setCallDeadline(params: CallDeadlineParams): void {
    this.db.setDeadline(params.ms);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  // --- Jobs ---------------------------------------------------------------------------------------------------------

  async enqueue(params: EnqueueParams): Promise<EnqueueResult[]> {
    const results = await this.db.write(() => enqueueJobs(this.db, params, this.clock.now()));
    if (results.some((result) => result.created)) await this.notify();
    return results;
  }

  async getJob(params: GetJobParams): Promise<Job | null> {
    const row = await this.db.read(() => this.db.stmt(Q.GET_JOB).get(params.id) as JobRow | undefined);
    return row ? toJob(row) : null;
  }

  async getJobs(params: GetJobsParams): Promise<Job[]> {
    if (params.ids.length === 0) return [];
    return this.db.read(() => (this.db.stmt(Q.GET_JOBS).all(JSON.stringify(params.ids)) as JobRow[]).map(toJob));
  }

  async listJobs(params: ListJobsParams): Promise<Job[]> {
    const offset = params.offset ?? 0;
    const command = params.commandContains ?? null;
    const queue = params.queue ?? null;
    return this.db.read(() => {
      if (!params.states || params.states.length === 0) {
        return (this.db.stmt(Q.LIST_JOBS).all({ command, queue, limit: params.limit, offset }) as JobRow[]).map(toJob);
      }
      const rows = params.states.flatMap(
        (state) => this.db.stmt(Q.LIST_JOBS_IN_STATE).all({ state, command, queue, limit: params.limit + offset }) as (JobRow & { seq: number })[],
      );
      rows.sort((a, b) => b.created_at - a.created_at || b.seq - a.seq);
      return rows.slice(offset, offset + params.limit).map(toJob);
    });
  }

  async countJobs(): Promise<JobCountsSummary> {
    return this.db.read(() => {
      const counts = emptyCounts();
      for (const row of this.db.stmt(Q.COUNT_JOBS).all() as { state: JobState; n: number }[]) counts[row.state] = row.n;
      const now = this.clock.now();
      const oldest = this.db.stmt(Q.OLDEST_PENDING).get({ now }) as { at: number | null; next: number | null };
      return { counts, oldestPendingAt: oldest.at, nextRunAt: oldest.next, now };
    });
  }

  async listAttempts(params: ListAttemptsParams) {
    return this.db.read(() => (this.db.stmt(Q.LIST_ATTEMPTS).all(params.jobId) as AttemptRow[]).map(toAttempt));
  }

  async readOutput(params: ReadOutputParams): Promise<OutputChunk[]> {
    return this.db.read(() => this.db.stmt(Q.READ_OUTPUT).all(params.jobId, params.attempt, params.afterSeq ?? 0) as OutputChunk[]);
  }

  // --- Worker side: the transaction bodies are in ./claim.ts, ./finish.ts and ./output.ts --------------------------

  async claim(params: ClaimParams): Promise<ClaimedJob[]> {
    return this.db.write(() => claimIn(this.db, params, this.clock.now()));
  }

  async recordAttemptProcess(params: RecordAttemptProcessParams): Promise<void> {
    await this.db.write(() => this.db.stmt(Q.RECORD_ATTEMPT_PROCESS).run(params));
  }

  async appendOutput(params: AppendOutputParams): Promise<void> {
    if (params.chunks.length === 0 && !params.truncated) return;
    await this.db.write(() => appendOutputIn(this.db, params));
  }

  async recordLateResult(params: LateResultParams): Promise<boolean> {
    const { jobId, workerId, attempt, result } = params;
    return this.db.write(
      () => this.db.stmt(Q.RECORD_LATE_RESULT).run({ jobId, workerId, attempt, outcome: result.outcome, exitCode: result.exitCode, signal: result.signal, error: result.error }).changes > 0,
    );
  }

  async finishAttempt(params: FinishParams): Promise<boolean> {
    const applied = await this.db.write(() => finishIn(this.db, params, this.clock.now()));
    this.announceFinish([params], [applied]);
    return applied !== false;
  }

  /**
   * Wakes workers only when a finish made work claimable for idle ones: dependents became pending, or a slot of a
   * queue with a concurrency limit came free (waking them on every completion would stampede busy workers); a job's
   * end is told on the ends channel, which only `wait` listens to.
   */
  private announceFinish(finishes: FinishParams[], applied: (false | FinishApplied)[]): void {
    const done = applied.flatMap((outcome, i) => (outcome ? [{ outcome, finish: finishes[i]! }] : []));
    if (done.some(({ outcome }) => outcome.promoted > 0 || outcome.freedLimitedSlot)) this.wake.notify();
    if (done.some(({ finish }) => isTerminal(finish.next.state))) this.ends.notify();
  }

  async finishAndClaim(params: FinishAndClaimParams): Promise<FinishAndClaimResult> {
    const outcome = await this.db.write(() => {
      const now = this.clock.now();
      const applied = params.finishes.map((finish) => finishIn(this.db, finish, now));
      return { applied, next: applied.some(Boolean) ? claimIn(this.db, params.claim, now) : [] };
    });
    this.announceFinish(params.finishes, outcome.applied);
    return { finished: outcome.applied.map((applied) => applied !== false), next: outcome.next };
  }

  async nextRunAt(params: NextRunAtParams): Promise<number | null> {
    return this.db.read(() => nextRunAtIn(this.db, params, this.clock.now()));
  }

  // --- Workers ------------------------------------------------------------------------------------------------------

  async registerWorker(params: RegisterWorkerParams): Promise<void> {
    const queues = params.queues === null ? null : JSON.stringify(params.queues);
    await this.db.write(() => this.db.stmt(Q.UPSERT_WORKER).run({ ...params.worker, concurrency: params.concurrency, queues, now: this.clock.now() }));
  }

  async heartbeat(params: HeartbeatParams): Promise<HeartbeatReply> {
    return this.db.write(() => {
      const now = this.clock.now();
      const worker = this.db.stmt(Q.WORKER_HEARTBEAT).get({ workerId: params.workerId, state: params.state, now }) as
        | { stop_request: StopMode | null }
        | undefined;
      const reply: HeartbeatReply = { stopRequest: worker?.stop_request ?? null, lost: [], cancels: [], registered: worker !== undefined };
      if (params.jobIds.length === 0) return reply;
      const held = this.db.stmt(Q.RENEW_LEASES).all({ jobIds: JSON.stringify(params.jobIds), workerId: params.workerId, leaseMs: params.leaseMs, now }) as
        { id: string; cancel_signal: string | null }[];
      const renewed = new Set(held.map((row) => row.id));
      reply.lost = params.jobIds.filter((id) => !renewed.has(id));
      for (const row of held) if (row.cancel_signal !== null) reply.cancels.push({ jobId: row.id, signal: row.cancel_signal });
      return reply;
    });
  }

  async listWorkers(params: ListWorkersParams): Promise<WorkerRecord[]> {
    return this.db.read(() => {
      const running = new Map<string, string[]>();
      for (const row of this.db.stmt(Q.RUNNING_JOBS).all() as { worker_id: string; id: string }[]) {
        const jobs = running.get(row.worker_id);
        if (jobs) jobs.push(row.id);
        else running.set(row.worker_id, [row.id]);
      }
      const rows = this.db.stmt(Q.LIST_WORKERS).all({ now: this.clock.now(), staleAfterMs: params.staleAfterMs }) as WorkerRow[];
      return rows.map((row) => {
        const jobs = running.get(row.id) ?? null;
        return toWorker({ ...row, running_jobs: jobs, state: jobs && row.state === 'idle' ? 'busy' : row.state });
      });
    });
  }

  async removeWorker(params: RemoveWorkerParams): Promise<void> {
    await this.db.write(() => this.db.stmt(Q.DELETE_WORKER).run(params.workerId));
  }

  async requestStop(params: RequestStopParams): Promise<string[]> {
    const ids = await this.db.write(() => {
      const rows = this.db.stmt(Q.REQUEST_STOP).all({ mode: params.mode, host: params.host ?? null }) as { id: string }[];
      return rows.map((row) => row.id);
    });
    await this.notify();
    return ids;
  }

  async takeFinishHooks(params: TakeFinishHooksParams): Promise<EndedJob[]> {
    // Almost always empty: look before taking the write lock.
    if (!(await this.db.read(() => (this.db.stmt(Q.ANY_FINISH_HOOK).get() as { found: number }).found))) return [];
    const rows = await this.db.write(() => this.db.stmt(Q.TAKE_FINISH_HOOKS).all(params.limit) as { job_id: string; state: JobState; exit_code: number | null }[]);
    return rows.map((row) => ({ jobId: row.job_id, state: row.state, exitCode: row.exit_code }));
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return this.db.read(() => (this.db.stmt(Q.LIST_LEASES).all({ now: this.clock.now() }) as LeaseRow[]).map(toLease));
  }

  // --- Operator actions: the transaction bodies are in ./operator.ts --------------------------------------------------

  async retryJobs(params: RetryJobsParams): Promise<string[]> {
    const retried = await this.db.write(() => retryJobsIn(this.db, params, this.clock.now()));
    if (retried.length > 0) await this.notify();
    return retried;
  }

  async clearDead(): Promise<number> {
    return this.db.write(() => clearDeadIn(this.db));
  }

  async cancel(params: CancelParams): Promise<CancelResult[]> {
    const results = await this.db.write(() => cancelIn(this.db, params, this.clock.now()));
    if (results.some((result) => result.action === 'signalled')) await this.notify();
    if (results.some((result) => result.action === 'cancelled')) this.ends.notify();
    return results;
  }

  async purge(params: PurgeParams): Promise<number> {
    return this.db.write(() => purgeIn(this.db, params, this.clock.now()));
  }

  // --- Queues: SQL and logic in ./queues.ts --------------------------------------------------------------------------

  private queueStore: SqliteQueues | undefined;
  private get queues(): SqliteQueues {
    return (this.queueStore ??= new SqliteQueues({
      read: (fn) => this.db.read(fn), write: (fn) => this.db.write(fn), stmt: (sql) => this.db.stmt(sql), now: () => this.clock.now(), notify: () => this.notify(),
    }));
  }

  listQueues(params: ListQueuesParams = {}): Promise<QueueRecord[]> { return this.queues.list(params.cap); }
  setQueue(params: SetQueueParams): Promise<QueueRecord> { return this.queues.set(params); }

  // --- Config -------------------------------------------------------------------------------------------------------

  async getConfig(): Promise<Record<string, string>> {
    return this.db.read(() => toConfig(this.db.stmt(Q.GET_CONFIG).all() as ConfigRow[]));
  }

  async setConfig(params: SetConfigParams): Promise<void> {
    await this.db.write(() => this.db.stmt(Q.SET_CONFIG).run(params.key, params.value));
    await this.notify();
  }

  async unsetConfig(params: UnsetConfigParams): Promise<boolean> {
    const removed = await this.db.write(() => this.db.stmt(Q.UNSET_CONFIG).run(params.key).changes > 0);
    if (removed) await this.notify();
    return removed;
  }

  // --- Wake-ups: a file beside the database (./wakeups.ts) ------------------------------------------------------------

  async notify(): Promise<void> {
    this.wake.notify();
  }

  async subscribe(onWake: () => void): Promise<() => Promise<void>> {
    return this.wake.subscribe(onWake);
  }

  /** Every end touches the file (one utimes call): nothing to mark. */
  async subscribeToEnds(params: SubscribeToEndsParams): Promise<() => Promise<void>> {
    return this.ends.subscribe(params.onEnd);
  }

  // --- Schedules: SQL and logic in ./schedules.ts ---------------------------------------------------------------------

  private scheduleStore: SqliteSchedules | undefined;
  private get schedules(): SqliteSchedules {
    return (this.scheduleStore ??= new SqliteSchedules({
      read: (fn) => this.db.read(fn), write: (fn) => this.db.write(fn), stmt: (sql) => this.db.stmt(sql), now: () => this.clock.now(), notify: () => this.notify(),
    }));
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

  private statsStore: SqliteStats | undefined;
  private get stats(): SqliteStats {
    return (this.statsStore ??= new SqliteStats({ read: (fn) => this.db.read(fn), write: (fn) => this.db.write(fn), stmt: (sql) => this.db.stmt(sql), now: () => this.clock.now() }));
  }

  countJobsCapped(params: CountJobsCappedParams): Promise<CappedJobCounts> { return this.stats.countCapped(params); }
  pageJobs(params: PageJobsParams): Promise<JobPage> { return this.stats.page(params); }
  finishedStats(params: FinishedStatsParams): Promise<FinishedStats> { return this.stats.finished(params); }
  attemptTotals(params: AttemptTotalsParams): Promise<AttemptTotals> { return this.stats.totals(params); }
  deleteDeadJobs(params: DeleteDeadJobsParams): Promise<string[]> { return this.stats.deleteDead(params); }
}
