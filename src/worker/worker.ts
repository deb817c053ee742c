import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock';
import { backoffPolicy, resolveConfig, type Config } from '../core/config';
import { isQueueError, StoreCorruptError } from '../core/errors';
import { isTerminal, type JobState } from '../core/job';
import { workerStaleAfterMs } from '../core/worker-liveness';
import { planAfterAttempt, type AttemptResult } from '../core/transitions';
import type { ClaimedJob, StopMode, Store, WorkerIdentity, WorkerState } from '../store/store';
import { runFinishHook } from './finish-hook';
import { attemptFileName } from './attempt-files';
import { callDeadlineMs, Heartbeat, LeaseWatchdog } from './lease';
import { OutputBuffer } from './output-buffer';
import { createCaptureDirectory, removeCaptureDirectory } from './output-capture';
import { attemptMarker, currentHost, processStartTime } from '../platform/process-info';
import { RunningCommand } from './runner';
import { ConfigRefresh } from './services/config-refresh';
import { FinishHookTaker } from './services/finish-hooks';
import { GoneWorkerCleaner } from './services/gone-workers';
import { LateReports } from './services/late-reports';
import { LostJobReaper } from './services/lost-jobs';
import { RetentionSweeper } from './services/retention';
import { ScheduleService } from './services/schedules';
import { ServiceSchedule } from './services/service';
import { describeSpawnEngine } from './spawn';
import { retryThroughOutages } from './report';
import { later, repeat } from './timers';
import { Wakeup } from './wakeup';

/** An idle worker looks at the store at least this often even without a wake-up (a lost notify costs this much). */
const FALLBACK_POLL_MS = 5000;
/** A command still running after this long gets its process group written to the store (see runJob). */
const PROCESS_RECORD_DELAY_MS = 100;
/** Errors the worker does not ride out: one of these ends it (its job is killed and left to its lease). */
const FATAL_ERRORS: (abstract new (...args: never[]) => Error)[] = [StoreCorruptError];

export interface WorkerOptions {
  /** The worker bounds the store's calls by its lease (Store.setCallDeadline). */
  store: Store;
  host?: string;
  log?: (line: string) => void;
  /** The clock leases and services are timed by; tests inject one. */
  clock?: Clock;
}

/** A job claimed, with what its lease runs from: when the claim was sent, and for how long. */
interface Claim {
  claimed: ClaimedJob;
  sentAt: number;
  leaseMs: number;
}

interface CurrentJob {
  claimed: ClaimedJob;
  running: RunningCommand | null;
  /** Set once the command has ended: from then on only the guarded finish decides, and there is nothing to kill. */
  exited: boolean;
  watchdog: LeaseWatchdog;
}

/**
 * One worker: claims a job, runs it, reports how it ended, and repeats; between jobs it waits on a wake-up from the
 * store rather than polling. Beside that loop, a heartbeat renews the lease of the job in hand and picks up stop and
 * cancel requests, a watchdog (lease.ts) kills that job should its lease lapse, and maintenance services
 * (services/) recover lost jobs, clean up gone workers, run finish hooks, apply retention and re-read the config.
 */
export class Worker {
  readonly id = `w_${randomBytes(5).toString('hex')}`;
  readonly host: string;
  /** Our environment, copied once: reading process.env goes through getenv for every variable, on every job. */
  private readonly baseEnv: NodeJS.ProcessEnv = { ...process.env };
  private readonly store: Store;
  private readonly log: (line: string) => void;
  private readonly clock: Clock;
  private readonly identity: WorkerIdentity;
  private readonly wakeup = new Wakeup();
  private readonly heartbeat: Heartbeat;
  private readonly configRefresh: ConfigRefresh;
  private readonly lateReports: LateReports;
  private readonly services: ServiceSchedule;
  private config: Config = resolveConfig({});
  private stopMode: StopMode | null = null;
  private current: CurrentJob | null = null;
  private beating: Promise<void> | null = null;
  private lastEarlyBeat = 0;
  private ended: Promise<void> | null = null;
  private fatal: unknown = null;
  private readonly hooks = new Set<Promise<void>>();
  private readonly schedules: ScheduleService;

  constructor(options: WorkerOptions) {
    const store = options.store;
    this.store = store;
    this.host = options.host ?? currentHost();
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${this.id} ${line}\n`));
    this.schedules = new ScheduleService({ store: this.store, log: this.log });
    this.identity = { id: this.id, host: this.host, pid: process.pid, pidStart: processStartTime(process.pid) };
    this.heartbeat = new Heartbeat({ store, identity: this.identity, log: this.log, clock: this.clock });
    const everyTick = () => this.tickMs;
    const everyFifthTick = () => 5 * this.tickMs;
    this.configRefresh = new ConfigRefresh({ store, onConfig: (config) => this.useConfig(config), periodMs: everyFifthTick });
    this.lateReports = new LateReports({ store, periodMs: everyTick, log: this.log, onJobEnded: (jobId, state, exitCode) => this.jobEnded(jobId, state, exitCode) });
    this.services = new ServiceSchedule(
      [
        this.configRefresh,
        // Before the reaper: a result kept back is written as it really was, not recovered as a lost attempt.
        this.lateReports,
        new LostJobReaper({
          store, host: this.host, selfId: this.id, inHand: () => this.current?.claimed.job.id ?? null,
          reporting: (jobId) => this.lateReports.holds(jobId), config: () => this.config,
          periodMs: everyTick, log: this.log, onJobEnded: (jobId, state) => this.jobEnded(jobId, state, null), onRecovered: () => this.wakeup.wake(),
        }),
        new GoneWorkerCleaner({ store, host: this.host, staleAfterMs: () => workerStaleAfterMs(this.leaseMs), periodMs: everyFifthTick }),
        new FinishHookTaker({ store, onJobEnded: (ended) => this.jobEnded(ended.jobId, ended.state, ended.exitCode), periodMs: everyTick }),
        // Schedules fire from here too, so they keep time while every worker is busy.
        { name: 'schedules', periodMs: everyTick, runOnce: async () => void (await this.schedules.runOnce()) },
        new RetentionSweeper({ store, retentionMs: () => this.config.retention, periodMs: everyTick, log: this.log, clock: this.clock }),
      ],
      (service, err) => this.failed(service.name, err),
      this.clock,
    );
  }

  private get leaseMs(): number {
    return this.config['lease-timeout'] * 1000;
  }

  /** Heartbeats come three times per lease, and at least every second so stops and cancels are seen quickly. */
  private get tickMs(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.leaseMs / 3)));
  }

  /**
   * Asks the worker to stop: `graceful` finishes the job in hand first; `kill` kills it and puts it back. The promise
   * settles when the worker's loop has ended (at once if it is not running).
   */
  stop(mode: StopMode = 'graceful'): Promise<void> {
    if (this.stopMode !== 'kill') this.stopMode = mode;
    if (mode === 'kill') this.current?.running?.kill('SIGTERM', 'stopped');
    this.wakeup.wake();
    return (this.ended ?? Promise.resolve()).catch(() => undefined);
  }

  /** Runs until stopped. Rejects when it cannot register or subscribe, or with an error of FATAL_ERRORS. */
  run(): Promise<void> {
    this.ended ??= this.runToEnd();
    return this.ended;
  }

  private async runToEnd(): Promise<void> {
    const captureDir = createCaptureDirectory(this.id);
    try {
      await this.serve(captureDir);
    } finally {
      removeCaptureDirectory(this.id);
    }
    if (this.fatal !== null) throw this.fatal;
  }

  private async serve(captureDir: string): Promise<void> {
    this.useConfig(this.config);
    await this.guard('config', () => this.configRefresh.runOnce());
    await this.store.registerWorker({ worker: this.identity });
    this.log(describeSpawnEngine());
    const unsubscribe = await this.store.subscribe(() => this.onWake());
    const stopBeating = repeat(() => this.tickMs, () => this.beat());
    const stopServices = repeat(() => this.tickMs, () => this.services.runDue());
    try {
      await this.beat();
      await this.services.runDue();
      // A job in hand (claimed together with the last report) is run even if a stop arrived meanwhile.
      let claim: Claim | null = null;
      while (this.stopMode === null || claim !== null) {
        claim ??= await this.claim();
        if (claim) claim = await this.runJob(claim, captureDir);
        else if (this.stopMode === null) await this.waitForWork();
      }
    } finally {
      stopBeating();
      stopServices();
      await this.beating;
      await this.services.settled();
      await Promise.allSettled([...this.hooks]);
      await unsubscribe();
      await this.guard('deregister', () => this.store.removeWorker({ workerId: this.id }));
    }
  }

  /** The config a refresh read: every store call is bounded by its lease from now on. */
  private useConfig(config: Config): void {
    this.config = config;
    this.store.setCallDeadline({ ms: callDeadlineMs(this.leaseMs) });
  }

  private claimParams() {
    return { workerId: this.id, host: this.host, leaseMs: this.leaseMs };
  }

  private async claim(): Promise<Claim | null> {
    const sentAt = this.clock.now();
    const params = this.claimParams();
    try {
      const claimed = await this.store.claim(params);
      return claimed && { claimed, sentAt, leaseMs: params.leaseMs };
    } catch (err) {
      this.failed('claim', err);
      await this.wakeup.wait(500);
      return null;
    }
  }

  private onWake(): void {
    if (this.current === null) {
      this.wakeup.wake();
      return;
    }
    // Busy: a wake-up may carry a cancel or a stop for us; heartbeat early to find out, at most every 50 ms.
    const now = Date.now();
    if (now - this.lastEarlyBeat >= 50 && this.beating === null) {
      this.lastEarlyBeat = now;
      void this.beat();
    }
  }

  private async waitForWork(): Promise<void> {
    // A schedule that fired made a job: claim it at once rather than wait for our own wake-up.
    const fired = await this.guard('schedules', () => this.schedules.runOnce());
    if (fired?.some((tick) => tick.result.outcome === 'fired')) return;
    const [nextJob, nextSchedule] = await Promise.all([
      this.guard('next run', () => this.store.nextRunAt()),
      this.guard('next schedule', () => this.schedules.nextDueAt()),
    ]);
    const next = nextJob === null || nextSchedule === null ? (nextJob ?? nextSchedule) : Math.min(nextJob, nextSchedule);
    // Guarded like every call of the loop: an idle worker must ride out a store outage, not exit.
    const now = next === null ? null : await this.guard('clock', () => this.store.now());
    const waitMs = next === null || now === null ? FALLBACK_POLL_MS : Math.min(FALLBACK_POLL_MS, Math.max(0, next - now) + 5);
    await this.wakeup.wait(waitMs);
  }

  /** Runs one job and reports it; returns the next job when the report could claim one in the same write. */
  private async runJob(claim: Claim, captureDir: string): Promise<Claim | null> {
    const { claimed } = claim;
    const { job, attempt } = claimed;
    const config = this.config;
    const current: CurrentJob = { claimed, running: null, exited: false, watchdog: this.watchdogFor(claim) };
    this.current = current;
    const limitBytes = config['output-limit'];
    const output = new OutputBuffer(limitBytes, async ({ chunks, truncated }) =>
      (await this.guard('output', () => this.store.appendOutput({ jobId: job.id, attempt, chunks, limitBytes, truncated }).then(() => true))) === true,
    );
    const timeoutSeconds = job.timeout ?? (config['job-timeout'] > 0 ? config['job-timeout'] : null);
    const running = new RunningCommand({
      command: job.command,
      cwd: job.cwd,
      env: { ...this.baseEnv, ...job.env, ...attemptMarker(job.id, attempt) },
      timeoutSeconds,
      captureDir,
      // A reaper finds the attempt's files (its exit status above all) by this name if this worker dies.
      captureName: attemptFileName(job.id, attempt),
      captureLimitBytes: limitBytes,
      output,
    });
    current.running = running;
    const startedAt = this.clock.now();
    this.log(`started ${job.id} attempt ${attempt}`);
    // The claim's reply may come after a pause longer than the lease: then another worker may run the job already.
    current.watchdog.check();
    if (this.stopMode === 'kill') running.kill('SIGTERM', 'stopped');
    const pid = running.pid;
    // Most jobs of a busy queue end before the delay and never pay for the write (nor for the /proc read); until it is
    // written, a reaper recovering the job finds the group by the attempt marker in its processes' environment.
    const recording = pid === null ? null : later(PROCESS_RECORD_DELAY_MS, () =>
      this.guard('record pid', () => this.store.recordAttemptProcess({ jobId: job.id, attempt, workerId: this.id, pid, pidStart: processStartTime(pid) })),
    );
    const result: AttemptResult = await running.result;
    current.exited = true;
    current.watchdog.stop();
    await recording?.settle();
    await output.close();
    const next = planAfterAttempt(job, result, backoffPolicy(config));
    const finish = { jobId: job.id, workerId: this.id, attempt, result, next };
    const sentAt = this.clock.now();
    const claimParams = this.claimParams();
    const reported = await retryThroughOutages({
      clock: this.clock,
      forMs: this.leaseMs,
      onGiveUp: (err) => this.failed(`report of job ${job.id}`, err),
      write: async () =>
        this.stopMode === null
          ? this.store.finishAndClaim({ finish, claim: claimParams })
          : { finished: await this.store.finishAttempt(finish), next: null },
    });
    this.current = null;
    if (reported === null) {
      this.log(`job ${job.id}: its result is not written yet; it is kept and written once the store answers again`);
      this.lateReports.add(finish);
      return null;
    }
    if (!reported.finished) {
      this.log(`job ${job.id} attempt ${attempt}: lease lost before its result was written; the job was recovered meanwhile`);
      // The recovery closed the attempt as lost; it did run to an end, and its attempt says so.
      if (result.outcome !== 'worker_lost') await this.guard('late result', () => this.store.recordLateResult(finish));
      return null;
    }
    // One line per job, beside `started`: what `tail -f` on the worker log shows.
    const seconds = ((this.clock.now() - startedAt) / 1000).toFixed(1);
    this.log(`finished ${job.id} ${next.state} exit=${result.exitCode ?? result.signal ?? '-'} ${seconds}s`);
    this.jobEnded(job.id, next.state, result.exitCode);
    // A retried report's claim was sent later than `sentAt`: the lease, counted from the first try, only looks shorter.
    return reported.next && { claimed: reported.next, sentAt, leaseMs: claimParams.leaseMs };
  }

  /** The watchdog of a claimed job: kills its command when the lease cannot have been renewed in time. */
  private watchdogFor(claim: Claim): LeaseWatchdog {
    const watchdog = new LeaseWatchdog({
      leaseMs: claim.leaseMs,
      sentAt: claim.sentAt,
      clock: this.clock,
      onLapse: (reason) => {
        const current = this.current;
        if (current?.watchdog !== watchdog || !current.running || current.exited) return;
        this.log(`job ${claim.claimed.job.id}: ${reason}; killing it so it never runs twice at once`);
        current.running.kill('SIGKILL', 'worker_lost');
      },
    });
    return watchdog;
  }

  /**
   * Runs the `on-finish` hook when a job reached its end (here or through the reaper). It marks the end of a job,
   * not of each attempt: a retry or a forced stop puts the job back, so the hook waits for its real end.
   */
  private jobEnded(jobId: string, state: JobState, exitCode: number | null): void {
    const command = this.config['on-finish'];
    if (!command || !isTerminal(state)) return;
    const hook = runFinishHook({ command, jobId, state, exitCode, log: this.log });
    this.hooks.add(hook);
    void hook.finally(() => this.hooks.delete(hook));
  }

  /** The heartbeat, never two at once; what its reply asks for (a stop, a cancel, a lost lease) is done here. */
  private beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const current = this.current;
    const state: WorkerState = this.stopMode ? 'stopping' : current ? 'busy' : 'idle';
    const held = current && { jobId: current.claimed.job.id, watchdog: current.watchdog };
    const reply = await this.guard('heartbeat', () => this.heartbeat.runOnce({ state, held, leaseMs: this.leaseMs }));
    if (!reply) return;
    if (reply.stopRequest) void this.stop(reply.stopRequest);
    // A heartbeat that crosses the job's own finish sees the lease gone: that is no loss, and its process group may
    // already belong to someone else, so an ended command is never signalled.
    if (current?.running && !current.exited) {
      if (!reply.leaseHeld) {
        this.log(`job ${current.claimed.job.id}: lease lost; killing it`);
        current.running.kill('SIGKILL', 'worker_lost');
      } else if (reply.cancelSignal) {
        current.running.kill(reply.cancelSignal as NodeJS.Signals, 'cancelled');
      }
    }
  }

  /** Store calls from the loop: a failure is logged and treated as "nothing now", never a crash. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      this.failed(what, err);
      return null;
    }
  }

  /**
   * Logs a failed call. Our own errors (a store outage, above all) say what went wrong; anything else is a bug, logged
   * with its stack.
   * An error of FATAL_ERRORS stops the worker (its job killed and left to its lease) and `run()` rejects with it.
   */
  private failed(what: string, err: unknown): void {
    if (FATAL_ERRORS.some((type) => err instanceof type)) {
      this.fatal ??= err;
      void this.stop('kill');
    }
    const expected = isQueueError(err);
    this.log(`${what} failed: ${expected ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}
