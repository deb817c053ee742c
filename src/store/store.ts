import type { Attempt, Job, OutputChunk } from '../core/job';
import type { CancelResult, EndedJob, EnqueueResult, JobCountsSummary, WorkerRecord } from '../core/records';
import type { QueueRecord } from '../core/queue-settings';
import type { Schedule } from '../core/schedule';
import type { AddScheduleParams, AppendOutputParams, AttemptTotals, AttemptTotalsParams, CallDeadlineParams, CancelParams, CappedJobCounts, ClaimParams, ClaimedJob, CountJobsCappedParams, DeleteDeadJobsParams, DueSchedulesParams, DueSchedulesResult, EnqueueParams, FinishAndClaimParams, FinishAndClaimResult, FinishParams, FinishedStats, FinishedStatsParams, FireScheduleParams, FireScheduleResult, GetJobParams, GetJobsParams, GetScheduleParams, HeartbeatParams, HeartbeatReply, ListQueuesParams, NextRunAtParams, SetQueueParams, JobPage, LateResultParams, LeaseRecord, ListAttemptsParams, ListJobsParams, ListWorkersParams, PageJobsParams, PurgeParams, ReadOutputParams, RecordAttemptProcessParams, RegisterWorkerParams, RemoveScheduleParams, RemoveWorkerParams, RequestStopParams, RetryJobsParams, RunScheduleParams, SetConfigParams, SetSchedulePausedParams, SubscribeToEndsParams, TakeFinishHooksParams, UnsetConfigParams } from './params';

// The records the store returns live in core (core/records.ts); re-exported so adapters and the worker name them here.
export type { CancelResult, EndedJob, EnqueueResult, JobCountsSummary, StopMode, WorkerIdentity, WorkerRecord, WorkerState } from '../core/records';
export type * from './params';

/**
 * The only seam between queuectl and a database. Every adapter (SQLite, PostgreSQL) implements it and passes the
 * same contract suite (test/store/contract.ts). Methods take one params object, are async, and return our own types.
 *
 * Time: each adapter owns its clock. SQLite uses an injected `Clock`; PostgreSQL uses the database's `now()` so that
 * hosts with skewed clocks agree. Callers pass durations, never absolute "now" values.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the store is, for messages (a file path, or a URL without its password). */
  readonly location: string;

  /** The store's current time in epoch ms. */
  now(): Promise<number>;
  close(): Promise<void>;
  /**
   * Bounds every later call: one that cannot finish within about `ms` (a lost network, a lock held elsewhere, a busy
   * SQLite file) fails with StoreUnavailableError instead of waiting, and its connection is not reused. Workers set it
   * below their lease; `null` (the default, for commands people run) waits as long as the call takes.
   */
  setCallDeadline(params: CallDeadlineParams): void;

  // --- Jobs -------------------------------------------------------------------------------------------------------

  /**
   * Inserts the jobs in one transaction: all or nothing. A duplicate id throws ConflictError naming it, unless
   * `ifNotExists`, which returns the existing job with `created: false`. Dependencies must name existing jobs or jobs
   * of the same batch, without cycles (UsageError). A job with unfinished dependencies starts `waiting`; one whose
   * dependency already ended dead or cancelled starts `cancelled`. An id repeated within the batch is a ConflictError.
   * Results come back in input order, and jobs of one batch are claimed in that order (all else equal).
   * Wakes idle workers.
   */
  enqueue(params: EnqueueParams): Promise<EnqueueResult[]>;
  getJob(params: GetJobParams): Promise<Job | null>;
  /** The jobs of `ids` that exist, in no particular order: one query however many (`wait` on many jobs). */
  getJobs(params: GetJobsParams): Promise<Job[]>;
  /** Newest first; `offset` skips that many, `commandContains` keeps jobs whose command contains the text. */
  listJobs(params: ListJobsParams): Promise<Job[]>;
  countJobs(): Promise<JobCountsSummary>;
  listAttempts(params: ListAttemptsParams): Promise<Attempt[]>;
  /** Output chunks of one attempt with `seq > afterSeq`, oldest first. */
  readOutput(params: ReadOutputParams): Promise<OutputChunk[]>;

  // --- Worker side: claim, lease, report ------------------------------------------------------------------------------

  /**
   * Atomically picks up to `limit` runnable jobs (pending or failed, `run_at` due, of `queues`) by highest priority,
   * earliest run_at, oldest; marks each processing under `workerId` with a lease of `leaseMs`, counts the attempt and
   * records it. All in one transaction, which also honours each queue's settings under any race between claimers: a
   * paused queue gives nothing, one with a concurrency limit never has more than that many processing, and one with a
   * rate starts at most one job per `periodMs / count` (by the store's clock). Empty when nothing may start.
   */
  claim(params: ClaimParams): Promise<ClaimedJob[]>;
  /** Records the spawned process group so a reaper on the same host can kill it if the worker dies. */
  recordAttemptProcess(params: RecordAttemptProcessParams): Promise<void>;
  /**
   * Appends output; trims the oldest chunks past `limitBytes` and marks the attempt truncated. `truncated` says output
   * was lost before it got here (skipped by the worker, or a failed write): the attempt is marked truncated, even
   * with no chunks.
   */
  appendOutput(params: AppendOutputParams): Promise<void>;
  /**
   * Applies an attempt's end, guarded by `state = 'processing' AND worker_id = workerId AND runs = attempt` (the run
   * number the claim returned, which keeps counting when a forced stop does not count an attempt).
   * Also promotes dependents of a completed job and cancels dependents of a dead or cancelled one.
   * Returns false when the guard failed: the lease was lost and nothing was written.
   */
  finishAttempt(params: FinishParams): Promise<boolean>;
  /**
   * Writes the real end of an attempt that a reaper already closed as `worker_lost` (its worker could not report in
   * time, but the command did run to an end) onto the attempt alone; the job stays as the recovery left it. Guarded by
   * `worker_id` and `outcome = 'worker_lost'`; returns false when there was nothing to correct.
   */
  recordLateResult(params: LateResultParams): Promise<boolean>;
  /**
   * `finishAttempt` of each of `finishes` (each guarded on its own), then, when at least one applied, `claim` for the
   * same worker, in one transaction: a busy worker reports the jobs its slots ended meanwhile and takes its next ones
   * with one write.
   */
  finishAndClaim(params: FinishAndClaimParams): Promise<FinishAndClaimResult>;
  /**
   * When an idle worker serving `queues` should look again: the earliest `run_at` among jobs runnable later, or the
   * next start a rate-limited queue with due jobs allows. Paused queues and queues at their concurrency limit are left
   * out: resuming wakes workers, and so does the end of a job of a queue with a limit.
   */
  nextRunAt(params: NextRunAtParams): Promise<number | null>;

  // --- Workers --------------------------------------------------------------------------------------------------------

  registerWorker(params: RegisterWorkerParams): Promise<void>;
  /**
   * The worker's heartbeat: marks it alive, renews the leases of all the jobs it runs in one statement, and returns
   * what it has been asked to do. A job in `lost` was taken away: kill it and discard its result. `registered: false`
   * means the worker has no row (peers removed it while it was paused or cut off): it must register again.
   */
  heartbeat(params: HeartbeatParams): Promise<HeartbeatReply>;
  /** All registered workers; `heartbeatExpired` when the last heartbeat is older than `staleAfterMs`. */
  listWorkers(params: ListWorkersParams): Promise<WorkerRecord[]>;
  removeWorker(params: RemoveWorkerParams): Promise<void>;
  /** Marks workers stopping (`graceful`: finish their jobs; `kill`: kill them and put them back). Returns the ids asked. */
  requestStop(params: RequestStopParams): Promise<string[]>;
  /** Jobs in processing, with what a reaper needs to decide whether their worker is gone. */
  listLeases(): Promise<LeaseRecord[]>;
  /**
   * Takes (removes and returns) up to `limit` jobs that ended without a worker's report (cancelled while queued, or
   * with a dependency), whose `on-finish` hook a worker still has to run. Each is handed to one caller only.
   */
  takeFinishHooks(params: TakeFinishHooksParams): Promise<EndedJob[]>;

  // --- Operator actions ---------------------------------------------------------------------------------------------

  /**
   * Moves dead or cancelled jobs (and completed ones with `includeCompleted`) back to pending with attempts reset,
   * keeping their history. All or nothing: an
   * unknown id (NotFoundError) or a job in another state (ConflictError) changes nothing.
   */
  retryJobs(params: RetryJobsParams): Promise<string[]>;
  /** Deletes dead jobs (the DLQ) and their history. */
  clearDead(): Promise<number>;
  /**
   * Cancels jobs: waiting/pending/failed ones at once (and their dependents); processing ones are flagged so their
   * worker signals them with `signal`. Unknown ids throw NotFoundError before anything changes.
   */
  cancel(params: CancelParams): Promise<CancelResult[]>;
  /** Deletes jobs in `states` (of `queue`, when given) whose `finished_at` is older than `olderThanMs` ago; at most `limit` when given. */
  purge(params: PurgeParams): Promise<number>;

  // --- Queues ---------------------------------------------------------------------------------------------------------

  /** Every queue that has jobs or settings, by name, with its jobs per state (up to `cap`) and its settings. */
  listQueues(params?: ListQueuesParams): Promise<QueueRecord[]>;
  /**
   * Changes a queue's settings (creating its settings row; the queue need not have jobs yet) and returns it. Lifting a
   * limit, resuming or changing the rate wakes idle workers.
   */
  setQueue(params: SetQueueParams): Promise<QueueRecord>;

  // --- Config -------------------------------------------------------------------------------------------------------

  getConfig(): Promise<Record<string, string>>;
  setConfig(params: SetConfigParams): Promise<void>;
  unsetConfig(params: UnsetConfigParams): Promise<boolean>;

  // --- Wake-ups -----------------------------------------------------------------------------------------------------

  /** Tells every subscriber that something changed (new work, a stop, a cancel). */
  notify(): Promise<void>;
  /** Calls `onWake` when any process notifies. Returns the function that unsubscribes. */
  subscribe(onWake: () => void): Promise<() => Promise<void>>;
  /**
   * Calls `onEnd` when one of `jobIds` reaches its end (completed, dead or cancelled) in any process: what `wait`
   * listens to. A channel of its own, so that ends never wake idle workers (which would all run a claim on every
   * finish). `onEnd` may also run for other jobs' ends. A store may announce only the ends of jobs someone subscribed
   * to (PostgreSQL marks them): a finish then costs no notification when nobody waits.
   */
  subscribeToEnds(params: SubscribeToEndsParams): Promise<() => Promise<void>>;

  // --- Schedules (recurring jobs): one row per schedule; its ticks become ordinary jobs ------------------------------

  /**
   * Stores a new schedule that first fires at `nextRunAt`. A name that exists is a ConflictError unless `replace`,
   * which overwrites its definition (keeping its last job and whether it is paused). Wakes idle workers.
   */
  addSchedule(params: AddScheduleParams): Promise<Schedule>;
  getSchedule(params: GetScheduleParams): Promise<Schedule | null>;
  /** By name. */
  listSchedules(): Promise<Schedule[]>;
  /** False when there was no such schedule. Its jobs stay. */
  removeSchedule(params: RemoveScheduleParams): Promise<boolean>;
  /**
   * Pauses or resumes; resuming sets the next run to `nextRunAt` (ticks that passed while paused are not fired).
   * Null when there is no such schedule. Wakes idle workers.
   */
  setSchedulePaused(params: SetSchedulePausedParams): Promise<Schedule | null>;
  /** Unpaused schedules whose next run is due by the store's clock, oldest due first, and that clock's reading. */
  dueSchedules(params: DueSchedulesParams): Promise<DueSchedulesResult>;
  /**
   * Fires one tick, in one transaction: only if the schedule is unpaused and still due at `expectedRunAt` (a
   * compare-and-set on its next run, so of several firers one wins and the others get `stale`), it inserts `job`
   * unless a job with its id exists or `--no-overlap` finds the previous job unfinished, records it as the last job,
   * and moves the next run to `nextRunAt`. Wakes idle workers when a job was inserted.
   */
  fireSchedule(params: FireScheduleParams): Promise<FireScheduleResult>;
  /** Enqueues `job` for the schedule now, outside its cadence, and records it as its last job. NotFoundError if absent. */
  runSchedule(params: RunScheduleParams): Promise<Job>;
  /** Earliest next run of the unpaused schedules, so an idle worker knows when to look again. */
  nextScheduleAt(): Promise<number | null>;

  // --- Stats (stats, dashboard, metrics): reads only, from existing rows; SQL in sqlite/stats.ts, postgres/stats.ts ---

  /**
   * Jobs per state, each counted up to `cap` (a state at the cap is listed in `capped`: "at least"), so the cost stays
   * bounded on a large store; and the oldest pending job's creation time.
   */
  countJobsCapped(params: CountJobsCappedParams): Promise<CappedJobCounts>;
  /** One page of jobs, newest first, optionally in `states` and matching `search` (a substring of id or command). */
  pageJobs(params: PageJobsParams): Promise<JobPage>;
  /** Attempts that finished in the last `windowMs` by the store's clock: per minute, per outcome, per worker, durations. */
  finishedStats(params: FinishedStatsParams): Promise<FinishedStats>;
  /** Every finished attempt ever kept: totals by outcome and a run-duration histogram over `bucketsMs` (for /metrics). */
  attemptTotals(params: AttemptTotalsParams): Promise<AttemptTotals>;
  /**
   * Deletes the named dead jobs and their history (the DLQ's "delete"). All or nothing: an unknown id (NotFoundError)
   * or a job in another state (ConflictError) changes nothing. Returns the ids deleted.
   */
  deleteDeadJobs(params: DeleteDeadJobsParams): Promise<string[]>;
}
