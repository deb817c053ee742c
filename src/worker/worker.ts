import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock';
import { resolveConfig, type Config } from '../core/config';
import { isQueueError, StoreCorruptError } from '../core/errors';
import { isTerminal, type JobState } from '../core/job';
import { workerStaleAfterMs } from '../core/worker-liveness';
import { validateWorkerConcurrency, validateWorkerQueues } from '../core/worker-slots';
import type { ClaimedJob, ClaimParams, FinishAndClaimResult, FinishParams, StopMode, Store, WorkerState } from '../store/store';
import { runFinishHook } from './finish-hook';
import { EndReports } from './end-reports';
import { JobRun, type Claim, type JobRunContext } from './job-run';
import { callDeadlineMs, Heartbeat, type WorkerRegistration } from './lease';
import { createCaptureDirectory, removeCaptureDirectory } from './output-capture';
import { currentHost, processStartTime } from '../platform/process-info';
import { ConfigRefresh } from './services/config-refresh';
import { FinishHookTaker } from './services/finish-hooks';
import { GoneWorkerCleaner } from './services/gone-workers';
import { LateReports } from './services/late-reports';
import { LostJobReaper } from './services/lost-jobs';
import { RetentionSweeper } from './services/retention';
import { ScheduleService } from './services/schedules';
import { ServiceSchedule } from './services/service';
import { describeSpawnEngine } from './spawn';
import { repeat } from './timers';
import { Wakeup } from './wakeup';

/** An idle worker looks at the store at least this often even without a wake-up (a lost notify costs this much). */
const FALLBACK_POLL_MS = 5000;
/**
 * The pooled store connections a worker process opens (OpenStoreOptions.poolSize): its slots, heartbeat and services
 * take turns on one, so on PostgreSQL it holds 2 with its LISTEN, whatever its concurrency.
 */
export const WORKER_POOL_SIZE = 1;
/** Errors the worker does not ride out: one of these ends it (its jobs are killed and left to their leases). */
const FATAL_ERRORS: (abstract new (...args: never[]) => Error)[] = [StoreCorruptError];

export interface WorkerOptions {
  /**
   * The worker bounds the store's calls by its lease (Store.setCallDeadline). Opened with `poolSize:
   * WORKER_POOL_SIZE`, a PostgreSQL store costs the worker 2 connections whatever its concurrency.
   */
  store: Store;
  host?: string;
  log?: (line: string) => void;
  /** The clock leases and services are timed by; tests inject one. */
  clock?: Clock;
  /** How many jobs it runs at once at most (its slots): 1 to 1000, default 1. */
  concurrency?: number;
  /** Only jobs of these queues; every queue when null or absent. */
  queues?: string[] | null;
}

/**
 * One worker: claims jobs (as many as it has free slots, in one transaction), runs each in a slot of its own
 * (job-run.ts), reports how each ended and takes that slot's next job in the same write, and repeats; with free slots
 * and nothing due it waits on a wake-up from the store rather than polling. Beside that, one heartbeat renews the
 * leases of every job in hand and picks up stop and cancel requests, a watchdog per job (lease.ts) kills it should its
 * lease lapse, and maintenance services (services/) recover lost jobs, clean up gone workers, run finish hooks, apply
 * retention and re-read the config.
 */
export class Worker {
  readonly id = `w_${randomBytes(5).toString('hex')}`;
  readonly host: string;
  /** How many jobs it runs at once at most. */
  readonly concurrency: number;
  /** The queues it serves; null: every queue. */
  readonly queues: string[] | null;
  private readonly store: Store;
  private readonly log: (line: string) => void;
  private readonly clock: Clock;
  private readonly registration: WorkerRegistration;
  private readonly wakeup = new Wakeup();
  private readonly heartbeat: Heartbeat;
  private readonly configRefresh: ConfigRefresh;
  private readonly lateReports: LateReports;
  private readonly services: ServiceSchedule;
  private config: Config = resolveConfig({});
  private stopMode: StopMode | null = null;
  /** The jobs in hand, each in its slot from its claim until its end is reported. */
  private readonly slots = new Set<JobRun>();
  /** Ends of jobs that finish while a write is in flight share the next write. */
  private readonly endReports = new EndReports((finishes) => this.writeEnds(finishes));
  /** Slots promised to claims under way, or to jobs claimed and not yet started: never offered to another claim. */
  private reserved = 0;
  private jobContext: JobRunContext | null = null;
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
    this.concurrency = validateWorkerConcurrency(options.concurrency ?? 1, 'concurrency');
    this.queues = validateWorkerQueues(options.queues);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${this.id} ${line}\n`));
    this.schedules = new ScheduleService({ store: this.store, log: this.log });
    const worker = { id: this.id, host: this.host, pid: process.pid, pidStart: processStartTime(process.pid) };
    this.registration = { worker, concurrency: this.concurrency, queues: this.queues };
    this.heartbeat = new Heartbeat({ store, registration: this.registration, log: this.log, clock: this.clock });
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
          store, host: this.host, selfId: this.id, inHand: (jobId) => this.holds(jobId),
          reporting: (jobId) => this.lateReports.holds(jobId), config: () => this.config,
          periodMs: everyTick, log: this.log, onJobEnded: (jobId, state) => this.jobEnded(jobId, state, null), onRecovered: () => this.wakeup.wake(),
        }),
        new GoneWorkerCleaner({ store, host: this.host, staleAfterMs: () => workerStaleAfterMs(this.leaseMs), periodMs: everyFifthTick }),
        new FinishHookTaker({ store, onJobEnded: (ended) => this.jobEnded(ended.jobId, ended.state, ended.exitCode), periodMs: everyTick }),
        // Schedules fire from here too, so they keep time while every slot is busy.
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

  /** The ids of the jobs it runs now (each until its end is reported). */
  get runningJobs(): string[] {
    return [...this.slots].map((run) => run.jobId);
  }

  /**
   * Asks the worker to stop: `graceful` finishes every job in hand first; `kill` kills them and puts them back. The
   * promise settles when the worker's loop has ended (at once if it is not running).
   */
  stop(mode: StopMode = 'graceful'): Promise<void> {
    if (this.stopMode !== 'kill') this.stopMode = mode;
    if (mode === 'kill') for (const run of this.slots) run.kill('SIGTERM', 'stopped');
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
    await this.store.registerWorker(this.registration);
    this.log(describeSpawnEngine());
    this.jobContext = this.makeJobContext(captureDir);
    const unsubscribe = await this.store.subscribe(() => this.onWake());
    const stopBeating = repeat(() => this.tickMs, () => this.beat());
    const stopServices = repeat(() => this.tickMs, () => this.services.runDue());
    try {
      await this.beat();
      await this.services.runDue();
      while (this.stopMode === null) {
        const free = this.freeSlots();
        if (free === 0) {
          // Full: a slot that frees up, a stop or a wake-up ends the wait.
          await this.wakeup.wait(FALLBACK_POLL_MS);
          continue;
        }
        const claimed = await this.claim(free);
        for (const claim of claimed) this.startJob(claim);
        // Fewer than asked: nothing more is due now.
        if (claimed.length < free && this.stopMode === null) await this.waitForWork();
      }
      // Stopping: every job in hand (and any a last report claimed along) runs to its end, or is killed by `kill`.
      while (this.slots.size > 0) await Promise.all([...this.slots].map((run) => run.done));
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

  private freeSlots(): number {
    return Math.max(0, this.concurrency - this.slots.size - this.reserved);
  }

  private holds(jobId: string): boolean {
    for (const run of this.slots) if (run.jobId === jobId) return true;
    return false;
  }

  private claimParams(limit: number): ClaimParams {
    return { workerId: this.id, host: this.host, leaseMs: this.leaseMs, limit, queues: this.queues };
  }

  /** Claims up to `limit` jobs in one transaction, those slots reserved meanwhile. */
  private async claim(limit: number): Promise<Claim[]> {
    const sentAt = this.clock.now();
    const params = this.claimParams(limit);
    this.reserved += limit;
    let claimed: ClaimedJob[] | null = null;
    try {
      claimed = await this.store.claim(params);
    } catch (err) {
      this.failed('claim', err);
    } finally {
      this.reserved -= limit;
    }
    if (claimed === null) {
      await this.wakeup.wait(500);
      return [];
    }
    return claimed.map((job) => ({ claimed: job, sentAt, leaseMs: params.leaseMs }));
  }

  /** Puts a claimed job in a slot; when its end is reported, the slot goes to what that report claimed along. */
  private startJob(claim: Claim): void {
    const run = new JobRun(claim, this.jobContext!);
    this.slots.add(run);
    void run.done.then((next) => {
      this.slots.delete(run);
      this.reserved -= next.length;
      for (const claimed of next) this.startJob(claimed);
      // A slot may be free now: the loop looks for work, or learns that the last job of a stop is done.
      this.wakeup.wake();
    });
  }

  /**
   * Writes the ends of jobs (see EndReports). Unless stopping, the same write claims as many jobs as there are slots
   * free once these are: theirs and every other free one, reserved until the jobs claimed are started.
   */
  private async writeEnds(finishes: FinishParams[]): Promise<{ finished: boolean[]; next: Claim[] }> {
    if (this.stopMode !== null) return { finished: await Promise.all(finishes.map((finish) => this.store.finishAttempt(finish))), next: [] };
    const others = this.freeSlots();
    this.reserved += others;
    const sentAt = this.clock.now();
    const claim = this.claimParams(others + finishes.length);
    let reply: FinishAndClaimResult;
    try {
      reply = await this.store.finishAndClaim({ finishes, claim });
    } finally {
      this.reserved -= others;
    }
    // Until started (startJob), what was claimed holds its slots.
    this.reserved += reply.next.length;
    return { finished: reply.finished, next: reply.next.map((claimed) => ({ claimed, sentAt, leaseMs: claim.leaseMs })) };
  }

  private makeJobContext(captureDir: string): JobRunContext {
    return {
      store: this.store,
      workerId: this.id,
      clock: this.clock,
      captureDir,
      // Our environment, copied once: reading process.env goes through getenv for every variable, on every job.
      baseEnv: { ...process.env },
      log: this.log,
      config: () => this.config,
      stopMode: () => this.stopMode,
      writeEnd: (finish) => this.endReports.write(finish),
      keepForLater: (finish) => this.lateReports.add(finish),
      onJobEnded: (jobId, state, exitCode) => this.jobEnded(jobId, state, exitCode),
      guard: (what, fn) => this.guard(what, fn),
      failed: (what, err) => this.failed(what, err),
    };
  }

  private onWake(): void {
    // A free slot: look for the work the wake-up may announce.
    if (this.freeSlots() > 0 || this.slots.size === 0) this.wakeup.wake();
    if (this.slots.size === 0) return;
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
      this.guard('next run', () => this.store.nextRunAt({ queues: this.queues })),
      this.guard('next schedule', () => this.schedules.nextDueAt()),
    ]);
    const next = nextJob === null || nextSchedule === null ? (nextJob ?? nextSchedule) : Math.min(nextJob, nextSchedule);
    // Guarded like every call of the loop: an idle worker must ride out a store outage, not exit.
    const now = next === null ? null : await this.guard('clock', () => this.store.now());
    const waitMs = next === null || now === null ? FALLBACK_POLL_MS : Math.min(FALLBACK_POLL_MS, Math.max(0, next - now) + 5);
    await this.wakeup.wait(waitMs);
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
    // The runs as they were when the beat was sent: the reply is about them, not about a later run of the same job.
    const held = [...this.slots];
    const state: WorkerState = this.stopMode ? 'stopping' : held.length > 0 ? 'busy' : 'idle';
    const reply = await this.guard('heartbeat', () => this.heartbeat.runOnce({ state, held, leaseMs: this.leaseMs }));
    if (!reply) return;
    if (reply.stopRequest) void this.stop(reply.stopRequest);
    const byId = new Map(held.map((run) => [run.jobId, run]));
    // A heartbeat that crosses a job's own finish sees its lease gone: that is no loss, and an ended command is never
    // signalled (JobRun.kill).
    for (const jobId of reply.lost) {
      const run = byId.get(jobId);
      if (!run?.runningCommand) continue;
      this.log(`job ${jobId}: lease lost; killing it`);
      run.kill('SIGKILL', 'worker_lost');
    }
    for (const cancel of reply.cancels) byId.get(cancel.jobId)?.kill(cancel.signal as NodeJS.Signals, 'cancelled');
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
   * An error of FATAL_ERRORS stops the worker (its jobs killed and left to their leases) and `run()` rejects with it.
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
