import type { Attempt, Job, JobState, OutputChunk, OutputStream } from '../core/job';
import type { NewJob } from '../core/job-spec';
import type { CancelResult, EndedJob, EnqueueResult, JobCountsSummary, StopMode, WorkerIdentity, WorkerRecord, WorkerState } from '../core/records';
import type { NewSchedule, Schedule } from '../core/schedule';
import type { AttemptResult, NextState } from '../core/transitions';

// The records the store returns live in core (core/records.ts); re-exported so adapters and the worker name them here.
export type { CancelResult, EndedJob, EnqueueResult, JobCountsSummary, StopMode, WorkerIdentity, WorkerRecord, WorkerState } from '../core/records';

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
  setCallDeadline(params: { ms: number | null }): void;

  // --- Jobs -------------------------------------------------------------------------------------------------------

  /**
   * Inserts the jobs in one transaction: all or nothing. A duplicate id throws ConflictError naming it, unless
   * `ifNotExists`, which returns the existing job with `created: false`. Dependencies must name existing jobs or jobs
   * of the same batch, without cycles (UsageError). A job with unfinished dependencies starts `waiting`; one whose
   * dependency already ended dead or cancelled starts `cancelled`. An id repeated within the batch is a ConflictError.
   * Results come back in input order, and jobs of one batch are claimed in that order (all else equal).
   * Wakes idle workers.
   */
  enqueue(params: { jobs: NewJob[]; ifNotExists: boolean }): Promise<EnqueueResult[]>;
  getJob(params: { id: string }): Promise<Job | null>;
  /** Newest first. */
  /** Newest first; `offset` skips that many, `commandContains` keeps jobs whose command contains the text. */
  listJobs(params: { states?: JobState[]; limit: number; offset?: number; commandContains?: string }): Promise<Job[]>;
  countJobs(): Promise<JobCountsSummary>;
  listAttempts(params: { jobId: string }): Promise<Attempt[]>;
  /** Output chunks of one attempt with `seq > afterSeq`, oldest first. */
  readOutput(params: { jobId: string; attempt: number; afterSeq?: number }): Promise<OutputChunk[]>;

  // --- Worker side: claim, lease, report ------------------------------------------------------------------------------

  /**
   * Atomically picks the runnable job (pending or failed, `run_at` due) with the highest priority, earliest run_at,
   * oldest, marks it processing under `workerId` with a lease of `leaseMs`, counts the attempt and records it.
   */
  claim(params: ClaimParams): Promise<ClaimedJob | null>;
  /** Records the spawned process group so a reaper on the same host can kill it if the worker dies. */
  recordAttemptProcess(params: { jobId: string; attempt: number; workerId: string; pid: number; pidStart: string | null }): Promise<void>;
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
   * `finishAttempt`, then, only when it applied, `claim` for the same worker, in one transaction: a busy worker reports
   * and takes its next job with one write instead of two.
   */
  finishAndClaim(params: { finish: FinishParams; claim: ClaimParams }): Promise<{ finished: boolean; next: ClaimedJob | null }>;
  /** Earliest `run_at` among jobs runnable later, so an idle worker knows when to look again. */
  nextRunAt(): Promise<number | null>;

  // --- Workers --------------------------------------------------------------------------------------------------------

  registerWorker(params: { worker: WorkerIdentity }): Promise<void>;
  /**
   * The worker's heartbeat: marks it alive, renews its job's lease (when it holds one) and returns what it has been
   * asked to do. `leaseHeld: false` means the job was taken away: kill it and discard its result. `registered: false`
   * means the worker has no row (peers removed it while it was paused or cut off): it must register again.
   */
  heartbeat(params: { workerId: string; state: WorkerState; jobId: string | null; leaseMs: number }): Promise<HeartbeatReply>;
  /** All registered workers; `heartbeatExpired` when the last heartbeat is older than `staleAfterMs`. */
  listWorkers(params: { staleAfterMs: number }): Promise<WorkerRecord[]>;
  removeWorker(params: { workerId: string }): Promise<void>;
  /** Marks workers stopping (`graceful`: finish the job; `kill`: kill it and put it back). Returns the ids asked. */
  requestStop(params: { mode: StopMode; host?: string }): Promise<string[]>;
  /** Jobs in processing, with what a reaper needs to decide whether their worker is gone. */
  listLeases(): Promise<LeaseRecord[]>;
  /**
   * Takes (removes and returns) up to `limit` jobs that ended without a worker's report (cancelled while queued, or
   * with a dependency), whose `on-finish` hook a worker still has to run. Each is handed to one caller only.
   */
  takeFinishHooks(params: { limit: number }): Promise<EndedJob[]>;

  // --- Operator actions ---------------------------------------------------------------------------------------------

  /**
   * Moves dead (or cancelled) jobs back to pending with attempts reset, keeping their history. All or nothing: an
   * unknown id (NotFoundError) or a job in another state (ConflictError) changes nothing.
   */
  retryJobs(params: { ids?: string[]; allDead?: boolean }): Promise<string[]>;
  /** Deletes dead jobs (the DLQ) and their history. */
  clearDead(): Promise<number>;
  /**
   * Cancels jobs: waiting/pending/failed ones at once (and their dependents); processing ones are flagged so their
   * worker signals them with `signal`. Unknown ids throw NotFoundError before anything changes.
   */
  cancel(params: { ids: string[]; signal: string }): Promise<CancelResult[]>;
  /** Deletes jobs in `states` whose `finished_at` is older than `olderThanMs` ago; at most `limit` when given. */
  purge(params: { states: JobState[]; olderThanMs: number; dryRun: boolean; limit?: number }): Promise<number>;

  // --- Config -------------------------------------------------------------------------------------------------------

  getConfig(): Promise<Record<string, string>>;
  setConfig(params: { key: string; value: string }): Promise<void>;
  unsetConfig(params: { key: string }): Promise<boolean>;

  // --- Wake-ups -----------------------------------------------------------------------------------------------------

  /** Tells every subscriber that something changed (new work, a stop, a cancel). */
  notify(): Promise<void>;
  /** Calls `onWake` when any process notifies. Returns the function that unsubscribes. */
  subscribe(onWake: () => void): Promise<() => Promise<void>>;

  // --- Schedules (recurring jobs): one row per schedule; its ticks become ordinary jobs ------------------------------

  /**
   * Stores a new schedule that first fires at `nextRunAt`. A name that exists is a ConflictError unless `replace`,
   * which overwrites its definition (keeping its last job and whether it is paused). Wakes idle workers.
   */
  addSchedule(params: AddScheduleParams): Promise<Schedule>;
  getSchedule(params: { name: string }): Promise<Schedule | null>;
  /** By name. */
  listSchedules(): Promise<Schedule[]>;
  /** False when there was no such schedule. Its jobs stay. */
  removeSchedule(params: { name: string }): Promise<boolean>;
  /**
   * Pauses or resumes; resuming sets the next run to `nextRunAt` (ticks that passed while paused are not fired).
   * Null when there is no such schedule. Wakes idle workers.
   */
  setSchedulePaused(params: SetSchedulePausedParams): Promise<Schedule | null>;
  /** Unpaused schedules whose next run is due by the store's clock, oldest due first, and that clock's reading. */
  dueSchedules(params: { limit: number }): Promise<{ now: number; schedules: Schedule[] }>;
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
}

export interface ClaimParams {
  workerId: string;
  host: string;
  leaseMs: number;
}

export interface AppendOutputParams {
  jobId: string;
  attempt: number;
  chunks: { stream: OutputStream; data: string }[];
  limitBytes: number;
  truncated?: boolean;
}

export interface FinishParams {
  jobId: string;
  workerId: string;
  /** The run number the claim returned. */
  attempt: number;
  result: AttemptResult;
  next: NextState;
}

export interface ClaimedJob {
  job: Job;
  attempt: number;
}

export interface HeartbeatReply {
  stopRequest: StopMode | null;
  leaseHeld: boolean;
  cancelSignal: string | null;
  /** False when no worker row was found to mark alive. */
  registered: boolean;
}

export interface LeaseRecord {
  jobId: string;
  attempt: number;
  workerId: string;
  /** Attempts counted so far, including this one. */
  attempts: number;
  maxRetries: number;
  /** By the store's clock. */
  leaseExpired: boolean;
  /** Where the command runs, from the attempt. */
  host: string;
  pid: number | null;
  pidStart: string | null;
  /** The worker's registration, if it still has one. */
  worker: { host: string; pid: number; pidStart: string | null } | null;
}
export interface AddScheduleParams {
  schedule: NewSchedule;
  nextRunAt: number;
  replace: boolean;
}

export interface SetSchedulePausedParams {
  name: string;
  paused: boolean;
  /** The next run once resumed (ignored when pausing). */
  nextRunAt: number;
}

export interface FireScheduleParams {
  name: string;
  /** The next run the caller saw: the tick is fired only if the schedule still holds it. */
  expectedRunAt: number;
  /** The tick that fires (null: the due ticks were missed and are dropped), and its job. */
  tickAt: number | null;
  job: NewJob | null;
  nextRunAt: number;
}

export interface FireScheduleResult {
  /**
   * `fired`: the job was inserted; `exists`: a job with its id was already there; `overlap`: skipped by `--no-overlap`;
   * `missed`: no job (catch-up none); `stale`: another firer got there first, or the schedule changed, paused or went.
   */
  outcome: 'fired' | 'exists' | 'overlap' | 'missed' | 'stale';
  jobId: string | null;
}

export interface RunScheduleParams {
  name: string;
  job: NewJob;
}
