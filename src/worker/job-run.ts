import type { Clock } from '../core/clock';
import { backoffPolicy, type Config } from '../core/config';
import type { JobState } from '../core/job';
import { planAfterAttempt, type AttemptResult } from '../core/transitions';
import type { ClaimedJob, FinishParams, StopMode, Store } from '../store/store';
import { attemptFileName } from './attempt-files';
import type { EndWritten } from './end-reports';
import { LeaseWatchdog } from './lease';
import { OutputBuffer } from './output-buffer';
import { attemptMarker, processStartTime } from '../platform/process-info';
import { retryThroughOutages } from './report';
import { RunningCommand, type KillReason } from './runner';
import { later } from './timers';

/** A command still running after this long gets its process group written to the store (see JobRun.run). */
const PROCESS_RECORD_DELAY_MS = 100;

/** A job claimed, with what its lease runs from: when the claim was sent, and for how long. */
export interface Claim {
  claimed: ClaimedJob;
  sentAt: number;
  leaseMs: number;
}

/** What a job run needs of its worker. */
export interface JobRunContext {
  store: Store;
  workerId: string;
  clock: Clock;
  /** The worker's capture directory (see output-capture.ts). */
  captureDir: string;
  /** The worker's environment, which every job's starts from. */
  baseEnv: NodeJS.ProcessEnv;
  log: (line: string) => void;
  config: () => Config;
  stopMode: () => StopMode | null;
  /**
   * Writes the attempt's end (in one write with the ends of other slots that finish meanwhile), claiming the worker's
   * next jobs in the same write unless it is stopping. Throws on a store error (retried here through outages).
   */
  writeEnd: (finish: FinishParams) => Promise<EndWritten>;
  /** Keeps a result the store could not take, to write once it answers again (services/late-reports.ts). */
  keepForLater: (finish: FinishParams) => void;
  onJobEnded: (jobId: string, state: JobState, exitCode: number | null) => void;
  /** Runs a store call whose failure is logged and read as null. */
  guard: <T>(what: string, fn: () => Promise<T>) => Promise<T | null>;
  failed: (what: string, err: unknown) => void;
}

/**
 * One claimed job in one of a worker's slots: its command in a process group of its own, with its own output
 * capture, timeout and lease watchdog; then the guarded report of how it ended. `done` settles with the jobs that
 * report claimed along (the slot's next occupants), never rejecting.
 */
export class JobRun {
  readonly jobId: string;
  readonly watchdog: LeaseWatchdog;
  readonly done: Promise<Claim[]>;
  private running: RunningCommand | null = null;
  /** Set once the command has ended: from then on only the guarded finish decides, and there is nothing to kill. */
  private exited = false;
  /** What the report claimed along: handed to the worker by `done`, whatever happens after the write. */
  private claimedAlong: Claim[] = [];

  constructor(
    private readonly claim: Claim,
    private readonly ctx: JobRunContext,
  ) {
    this.jobId = claim.claimed.job.id;
    this.watchdog = new LeaseWatchdog({
      leaseMs: claim.leaseMs,
      sentAt: claim.sentAt,
      clock: ctx.clock,
      onLapse: (reason) => {
        if (!this.running || this.exited) return;
        ctx.log(`job ${this.jobId}: ${reason}; killing it so it never runs twice at once`);
        this.running.kill('SIGKILL', 'worker_lost');
      },
    });
    this.done = this.run().catch((err: unknown) => {
      this.watchdog.stop();
      ctx.failed(`job ${this.jobId}`, err);
      return this.claimedAlong;
    });
  }

  /** True while the command runs: a heartbeat's lost lease or cancel is for this run only then. */
  get runningCommand(): boolean {
    return this.running !== null && !this.exited;
  }

  /**
   * Signals the command's process group. An ended command is never signalled: its group may already belong to
   * someone else.
   */
  kill(signal: NodeJS.Signals, reason: KillReason): void {
    if (this.running && !this.exited) this.running.kill(signal, reason);
  }

  private async run(): Promise<Claim[]> {
    await this.runAndReport();
    return this.claimedAlong;
  }

  private async runAndReport(): Promise<void> {
    const { ctx } = this;
    const { job, attempt } = this.claim.claimed;
    const config = ctx.config();
    const limitBytes = config['output-limit'];
    const output = new OutputBuffer(limitBytes, async ({ chunks, truncated }) =>
      (await ctx.guard('output', () => ctx.store.appendOutput({ jobId: job.id, attempt, chunks, limitBytes, truncated }).then(() => true))) === true,
    );
    const running = new RunningCommand({
      command: job.command,
      cwd: job.cwd,
      env: { ...ctx.baseEnv, ...job.env, ...attemptMarker(job.id, attempt) },
      timeoutSeconds: job.timeout ?? (config['job-timeout'] > 0 ? config['job-timeout'] : null),
      captureDir: ctx.captureDir,
      // A reaper finds the attempt's files (its exit status above all) by this name if this worker dies.
      captureName: attemptFileName(job.id, attempt),
      captureLimitBytes: limitBytes,
      output,
    });
    this.running = running;
    const startedAt = ctx.clock.now();
    ctx.log(`started ${job.id} attempt ${attempt}`);
    // The claim's reply may come after a pause longer than the lease: then another worker may run the job already.
    this.watchdog.check();
    if (ctx.stopMode() === 'kill') running.kill('SIGTERM', 'stopped');
    // Most jobs of a busy queue end before the delay and never pay for the write (nor for the /proc read); until it is
    // written, a reaper recovering the job finds the group by the attempt marker in its processes' environment. The pid
    // is awaited when the delay is up: a process is started off the loop's thread, and on a loaded machine its pid can
    // come later than the delay.
    const recording = later(PROCESS_RECORD_DELAY_MS, async () => {
      const pid = await running.startedPid();
      if (pid === null || this.exited) return;
      await ctx.guard('record pid', () => ctx.store.recordAttemptProcess({ jobId: job.id, attempt, workerId: ctx.workerId, pid, pidStart: processStartTime(pid) }));
    });
    const result: AttemptResult = await running.result;
    this.exited = true;
    this.watchdog.stop();
    await recording.settle();
    await output.close();
    const next = planAfterAttempt(job, result, backoffPolicy(config));
    const finish: FinishParams = { jobId: job.id, workerId: ctx.workerId, attempt, result, next };
    const reported = await retryThroughOutages({
      clock: ctx.clock,
      forMs: ctx.config()['lease-timeout'] * 1000,
      onGiveUp: (err) => ctx.failed(`report of job ${job.id}`, err),
      write: () => ctx.writeEnd(finish),
    });
    this.claimedAlong = reported?.next ?? [];
    if (reported === null) {
      ctx.log(`job ${job.id}: its result is not written yet; it is kept and written once the store answers again`);
      ctx.keepForLater(finish);
      return;
    }
    if (!reported.finished) {
      ctx.log(`job ${job.id} attempt ${attempt}: lease lost before its result was written; the job was recovered meanwhile`);
      // The recovery closed the attempt as lost; it did run to an end, and its attempt says so.
      if (result.outcome !== 'worker_lost') await ctx.guard('late result', () => ctx.store.recordLateResult(finish));
      return;
    }
    // One line per job, beside `started`: what `tail -f` on the worker log shows.
    const seconds = ((ctx.clock.now() - startedAt) / 1000).toFixed(1);
    ctx.log(`finished ${job.id} ${next.state} exit=${result.exitCode ?? result.signal ?? '-'} ${seconds}s`);
    ctx.onJobEnded(job.id, next.state, result.exitCode);
  }
}
