/** The params and results of the Store interface's methods (store.ts), named as River names its driver's. */
import type { Job, JobState, OutputStream } from '../core/job';
import type { NewJob } from '../core/job-spec';
import type { StopMode, WorkerIdentity, WorkerState } from '../core/records';
import type { RateLimit } from '../core/queue-settings';
import type { NewSchedule, Schedule } from '../core/schedule';
import type { AttemptResult, NextState } from '../core/transitions';


export interface DeleteDeadJobsParams {
  ids: string[];
}

export interface CountJobsCappedParams {
  cap: number;
}

export interface CappedJobCounts {
  counts: Record<JobState, number>;
  /** States whose count reached the cap: the real count is at least that. */
  capped: JobState[];
  /** When the longest-waiting due pending job became due (its `run_at`); jobs not yet due do not count. */
  oldestPendingAt: number | null;
  /** The earliest `run_at` of a pending job not yet due. */
  nextRunAt: number | null;
  now: number;
}

export interface PageJobsParams {
  states?: JobState[];
  /** Substring of the id or the command (case-sensitive on PostgreSQL, ASCII-insensitive on SQLite). */
  search?: string;
  limit: number;
  /** The `next` cursor of the previous page. */
  after?: string;
}

export interface JobPage {
  jobs: Job[];
  /** Cursor of the next (older) page; null on the last page. */
  next: string | null;
}

export interface FinishedStatsParams {
  windowMs: number;
}

/** Success is an `exit` with code 0; `stopped` attempts (put back, not counted) are left out. */
export interface FinishedStats {
  now: number;
  since: number;
  /** One entry per minute that had a finish: minute start (epoch ms), successes, failures. */
  perMinute: { minute: number; succeeded: number; failed: number }[];
  succeeded: number;
  failed: number;
  byOutcome: Record<string, number>;
  /** Run durations in ms; null when nothing finished. */
  durationMs: { p50: number; p95: number; max: number } | null;
  byWorker: { workerId: string; succeeded: number; failed: number }[];
}

export interface AttemptTotalsParams {
  bucketsMs: number[];
}

export interface AttemptTotals {
  byOutcome: { outcome: string; succeeded: boolean; count: number }[];
  /** Cumulative counts per bucket bound (`le`), then the total count and sum (ms). */
  histogram: { le: number; count: number }[];
  count: number;
  sumMs: number;
}

// --- Params and results of the methods above, one named type each (as River's *Params) -----------------------------

export interface CallDeadlineParams {
  /** The bound in ms; null waits as long as a call takes. */
  ms: number | null;
}

export interface EnqueueParams {
  jobs: NewJob[];
  ifNotExists: boolean;
}

export interface GetJobParams {
  id: string;
}

export interface ListJobsParams {
  /** Only jobs in these states; all when absent or empty. */
  states?: JobState[];
  limit: number;
  /** Skips this many of the newest first. */
  offset?: number;
  /** Only jobs whose command contains this text. */
  commandContains?: string;
  /** Only jobs of this queue. */
  queue?: string;
}

export interface ListAttemptsParams {
  jobId: string;
}

export interface ReadOutputParams {
  jobId: string;
  attempt: number;
  /** Only chunks after this one (0, the default: all). */
  afterSeq?: number;
}

export interface RecordAttemptProcessParams {
  jobId: string;
  attempt: number;
  workerId: string;
  pid: number;
  pidStart: string | null;
}

export interface FinishAndClaimParams {
  /** At least one; the same worker's, each a different job. */
  finishes: FinishParams[];
  claim: ClaimParams;
}

export interface FinishAndClaimResult {
  /** Whether each finish applied, in the order of `finishes`. */
  finished: boolean[];
  /** What the claim took (empty when no finish applied). */
  next: ClaimedJob[];
}

export interface SubscribeToEndsParams {
  /** The jobs whose ends are awaited. */
  jobIds: string[];
  onEnd: () => void;
}

export interface RegisterWorkerParams {
  worker: WorkerIdentity;
  /** Its slots: how many jobs it runs at once at most. */
  concurrency: number;
  /** The queues it serves; null: every queue. */
  queues: string[] | null;
}

export interface HeartbeatParams {
  workerId: string;
  state: WorkerState;
  /** The jobs whose leases to renew (all in one statement): every job the worker runs now. */
  jobIds: string[];
  leaseMs: number;
}

export interface ListWorkersParams {
  staleAfterMs: number;
}

export interface RemoveWorkerParams {
  workerId: string;
}

export interface RequestStopParams {
  mode: StopMode;
  /** Only the workers on this host; all when absent. */
  host?: string;
}

export interface TakeFinishHooksParams {
  limit: number;
}

export interface GetJobsParams {
  ids: string[];
}

export interface RetryJobsParams {
  ids?: string[];
  /** Completed jobs may be re-run too (`queuectl retry`); otherwise only dead or cancelled ones. */
  includeCompleted?: boolean;
  /** Every dead job instead of `ids`. */
  allDead?: boolean;
}

export interface CancelParams {
  ids: string[];
  /** The signal a processing job's worker sends it. */
  signal: string;
}

export interface PurgeParams {
  states: JobState[];
  olderThanMs: number;
  /** Count, delete nothing. */
  dryRun: boolean;
  limit?: number;
  /** Only jobs of this queue. */
  queue?: string;
}

export interface SetConfigParams {
  key: string;
  value: string;
}

export interface UnsetConfigParams {
  key: string;
}

export interface GetScheduleParams {
  name: string;
}

export interface RemoveScheduleParams {
  name: string;
}

export interface DueSchedulesParams {
  limit: number;
}

export interface DueSchedulesResult {
  /** The store's clock when it looked. */
  now: number;
  schedules: Schedule[];
}

export interface ClaimParams {
  workerId: string;
  host: string;
  leaseMs: number;
  /** At most this many jobs (the worker's free slots), at least 1. */
  limit: number;
  /** Only jobs of these queues; every queue when null. */
  queues: string[] | null;
}

export interface ListQueuesParams {
  /**
   * Count each queue's jobs per state up to this many (a state at the cap is listed in `capped`), so the cost stays
   * bounded on a large store; every job is counted when absent.
   */
  cap?: number;
}

export interface NextRunAtParams {
  /** Only jobs of these queues; every queue when null. */
  queues: string[] | null;
}

export interface SetQueueParams {
  name: string;
  /** Fields left out stay as they are. `null` lifts the limit. */
  concurrency?: number | null;
  /** `null` lifts the rate. */
  rate?: RateLimit | null;
  paused?: boolean;
}

export interface AppendOutputParams {
  jobId: string;
  attempt: number;
  chunks: { stream: OutputStream; data: string }[];
  limitBytes: number;
  truncated?: boolean;
}

export interface LateResultParams {
  jobId: string;
  workerId: string;
  attempt: number;
  result: AttemptResult;
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
  /** Of the `jobIds` asked, those whose lease was not renewed: taken away, to be killed and their results discarded. */
  lost: string[];
  /** Of the jobs still held, those a `cancel` flagged, with the signal to send. */
  cancels: { jobId: string; signal: string }[];
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
