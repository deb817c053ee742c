import { randomBytes } from 'node:crypto';
import { backoffPolicy, resolveConfig, type Config } from '../core/config';
import { isTerminal, type JobState, type OutputStream } from '../core/job';
import { planAfterAttempt, type AttemptResult } from '../core/transitions';
import type { ClaimedJob, StopMode, Store, WorkerState } from '../store/store';
import { runFinishHook } from './finish-hook';
import { createCaptureDirectory, MIN_CAPTURE_FILE_LIMIT, removeCaptureDirectory } from './output-capture';
import { attemptMarker, currentHost, processStartTime } from './process-info';
import { cleanUpGoneWorkers, reapLostJobs } from './reaper';
import { RetentionSweeper } from './retention';
import { RunningCommand } from './runner';
import { ScheduleService } from './schedule-service';
import { Wakeup } from './wakeup';

/** An idle worker looks at the store at least this often even without a wake-up (a lost notify costs this much). */
const FALLBACK_POLL_MS = 5000;
/** A command still running after this long gets its process group written to the store (see recordProcessLater). */
const PROCESS_RECORD_DELAY_MS = 100;
/** Output buffered before it is written to the store without waiting for the rest of the read. */
const OUTPUT_FLUSH_BYTES = 64 * 1024;

export interface WorkerOptions {
  store: Store;
  host?: string;
  log?: (line: string) => void;
}

interface CurrentJob {
  claimed: ClaimedJob;
  running: RunningCommand | null;
  /** Set once the command has ended: from then on only the guarded finish decides, and there is nothing to kill. */
  exited: boolean;
  leaseRenewedAt: number;
}

/**
 * One worker: claims a job, runs it, reports how it ended, and repeats; between jobs it waits on a wake-up from the
 * store rather than polling. A tick on the side heartbeats (renewing the lease of the job in hand), picks up stop and
 * cancel requests, and recovers jobs of workers that died.
 */
export class Worker {
  readonly id = `w_${randomBytes(5).toString('hex')}`;
  readonly host: string;
  /** Our environment, copied once: reading process.env goes through getenv for every variable, on every job. */
  private readonly baseEnv: NodeJS.ProcessEnv = { ...process.env };
  private readonly store: Store;
  private readonly log: (line: string) => void;
  private readonly wakeup = new Wakeup();
  private readonly retention: RetentionSweeper;
  private config: Config = resolveConfig({});
  private stopMode: StopMode | null = null;
  private current: CurrentJob | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private ticks = 0;
  private lastEarlyBeat = 0;
  private heartbeatFailing = false;
  private readonly hooks = new Set<Promise<void>>();
  private readonly schedules: ScheduleService;

  constructor(options: WorkerOptions) {
    this.store = options.store;
    this.retention = new RetentionSweeper(options.store);
    this.host = options.host ?? currentHost();
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${this.id} ${line}\n`));
    this.schedules = new ScheduleService({ store: this.store, log: this.log });
  }

  private get leaseMs(): number {
    return this.config['lease-timeout'] * 1000;
  }

  /** Heartbeats come three times per lease, and at least every second so stops and cancels are seen quickly. */
  private get tickMs(): number {
    return Math.max(50, Math.min(1000, Math.floor(this.leaseMs / 3)));
  }

  /** Asks the worker to stop: `graceful` finishes the job in hand first; `kill` kills it and puts it back. */
  stop(mode: StopMode = 'graceful'): void {
    if (this.stopMode !== 'kill') this.stopMode = mode;
    if (mode === 'kill') this.current?.running?.kill('SIGTERM', 'stopped');
    this.wakeup.wake();
  }

  /** Runs until stopped. */
  async run(): Promise<void> {
    const captureDir = createCaptureDirectory(this.id);
    try {
      await this.serve(captureDir);
    } finally {
      removeCaptureDirectory(this.id);
    }
  }

  private async serve(captureDir: string): Promise<void> {
    await this.refreshConfig();
    await this.store.registerWorker({ worker: this.identity() });
    const unsubscribe = await this.store.subscribe(() => this.onWake());
    this.scheduleTick();
    try {
      await this.tick();
      // A job in hand (claimed together with the last report) is run even if a stop arrived meanwhile.
      let claimed: ClaimedJob | null = null;
      while (this.stopMode === null || claimed !== null) {
        claimed ??= await this.guard('claim', () => this.store.claim(this.claimParams()));
        if (claimed) claimed = await this.runJob(claimed, captureDir);
        else if (this.stopMode === null) await this.waitForWork();
      }
    } finally {
      if (this.tickTimer) clearTimeout(this.tickTimer);
      this.tickTimer = null;
      await this.ticking;
      await Promise.allSettled([...this.hooks]);
      await unsubscribe();
      await this.guard('deregister', () => this.store.removeWorker({ workerId: this.id }));
    }
  }

  private claimParams() {
    return { workerId: this.id, host: this.host, leaseMs: this.leaseMs };
  }

  private identity() {
    return { id: this.id, host: this.host, pid: process.pid, pidStart: processStartTime(process.pid) };
  }

  private onWake(): void {
    if (this.current === null) {
      this.wakeup.wake();
      return;
    }
    // Busy: a wake-up may carry a cancel or a stop for us; heartbeat early to find out, at most every 50 ms.
    const now = Date.now();
    if (now - this.lastEarlyBeat >= 50 && this.ticking === null) {
      this.lastEarlyBeat = now;
      void this.tick();
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
  private async runJob(claimed: ClaimedJob, captureDir: string): Promise<ClaimedJob | null> {
    const { job, attempt } = claimed;
    const config = this.config;
    const current: CurrentJob = { claimed, running: null, exited: false, leaseRenewedAt: Date.now() };
    this.current = current;
    const output = new OutputBuffer((chunks) =>
      this.guard('output', () => this.store.appendOutput({ jobId: job.id, attempt, chunks, limitBytes: config['output-limit'] })),
    );
    const timeoutSeconds = job.timeout ?? (config['job-timeout'] > 0 ? config['job-timeout'] : null);
    const running = new RunningCommand({
      command: job.command,
      cwd: job.cwd,
      env: { ...this.baseEnv, ...job.env, ...attemptMarker(job.id, attempt) },
      timeoutSeconds,
      captureDir,
      // Well past the tail the store keeps, so what is lost when a file is emptied lies outside it.
      captureLimitBytes: Math.max(MIN_CAPTURE_FILE_LIMIT, 2 * config['output-limit']),
      onOutput: (stream, data) => output.add(stream, data),
    });
    current.running = running;
    if (this.stopMode === 'kill') running.kill('SIGTERM', 'stopped');
    const recording = running.pid === null ? null : this.recordProcessLater(job.id, attempt, running.pid);
    const result: AttemptResult = await running.result;
    current.exited = true;
    await recording?.settle();
    await output.close();
    const next = planAfterAttempt(job, result, backoffPolicy(config));
    const finish = { jobId: job.id, workerId: this.id, attempt, result, next };
    const reported = await this.reportWithRetry(async () =>
      this.stopMode === null
        ? this.store.finishAndClaim({ finish, claim: this.claimParams() })
        : { finished: await this.store.finishAttempt(finish), next: null },
    );
    this.current = null;
    if (reported === null) return null;
    if (!reported.finished) {
      this.log(`job ${job.id} attempt ${attempt}: lease lost before its result was written; the result is discarded`);
      return null;
    }
    this.jobEnded(job.id, next.state, result.exitCode);
    return reported.next;
  }

  /**
   * Writes the attempt's process group to the store once the command has run for PROCESS_RECORD_DELAY_MS. Most jobs
   * of a busy queue end sooner and never pay for that write (nor for reading the start time from /proc); until it is
   * written, a reaper recovering the job finds the group by the attempt marker in its processes' environment.
   * `settle()` cancels a write not yet started and waits for one under way, so it never lands after the finish.
   */
  private recordProcessLater(jobId: string, attempt: number, pid: number): { settle(): Promise<void> } {
    let writing: Promise<unknown> | null = null;
    const timer = setTimeout(() => {
      writing = this.guard('record pid', () =>
        this.store.recordAttemptProcess({ jobId, attempt, workerId: this.id, pid, pidStart: processStartTime(pid) }),
      );
    }, PROCESS_RECORD_DELAY_MS);
    return {
      settle: async () => {
        clearTimeout(timer);
        await writing;
      },
    };
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

  /** A result is written once: retried through store outages for as long as the lease could still be ours. */
  private async reportWithRetry<T>(report: () => Promise<T>): Promise<T | null> {
    const giveUpAt = Date.now() + this.leaseMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await report();
      } catch (err) {
        if (Date.now() > giveUpAt) {
          this.log(`could not report a result: ${(err as Error).message}; its lease will run out and it will be retried`);
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private scheduleTick(): void {
    this.tickTimer = setTimeout(() => {
      void this.tick().finally(() => {
        if (this.tickTimer !== null) this.scheduleTick();
      });
    }, this.tickMs);
  }

  /** Heartbeat, stop/cancel requests, config refresh and recovery of lost jobs; never two at once. */
  private tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.tickOnce().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async tickOnce(): Promise<void> {
    this.ticks++;
    const current = this.current;
    const state: WorkerState = this.stopMode ? 'stopping' : current ? 'busy' : 'idle';
    const reply = await this.guard('heartbeat', () =>
      this.store.heartbeat({ workerId: this.id, state, jobId: current?.claimed.job.id ?? null, leaseMs: this.leaseMs }),
    );
    // While the store was out of reach our heartbeat went stale and peers may have removed our registration: register
    // again at once, so `worker list` and `worker stop` see this worker without waiting for the periodic re-registration.
    if (reply && this.heartbeatFailing) await this.guard('register', () => this.store.registerWorker({ worker: this.identity() }));
    this.heartbeatFailing = reply === null;
    if (reply) {
      if (reply.stopRequest) this.stop(reply.stopRequest);
      // A heartbeat that crosses the job's own finish sees the lease gone: that is no loss, and its process group may
      // already belong to someone else, so an ended command is never signalled.
      if (current?.running && !current.exited) {
        if (!reply.leaseHeld) {
          this.log(`job ${current.claimed.job.id}: lease lost; killing it`);
          current.running.kill('SIGKILL', 'worker_lost');
        } else {
          current.leaseRenewedAt = Date.now();
          if (reply.cancelSignal) current.running.kill(reply.cancelSignal as NodeJS.Signals, 'cancelled');
        }
      }
    } else if (current?.running && !current.exited && Date.now() - current.leaseRenewedAt > this.leaseMs * 0.9) {
      // The store is unreachable and the lease is about to lapse: another worker may take the job, so it must stop here.
      this.log(`job ${current.claimed.job.id}: cannot renew its lease; killing it so it never runs twice at once`);
      current.running.kill('SIGKILL', 'worker_lost');
    }
    if (this.ticks % 5 === 1) await this.refreshConfig();
    // Re-register now and then: a worker paused longer than the stale limit (a suspended laptop) was cleaned up by its
    // peers and would otherwise run on unseen by `worker list` and `worker stop`.
    if (this.ticks % 10 === 0) await this.guard('register', () => this.store.registerWorker({ worker: this.identity() }));
    await this.guard('reap', async () => {
      const recovered = await reapLostJobs({
        store: this.store, host: this.host, selfId: this.id, config: this.config, log: this.log,
        onJobEnded: (jobId, state) => this.jobEnded(jobId, state, null),
      });
      if (this.ticks % 5 === 1) await cleanUpGoneWorkers({ store: this.store, host: this.host, staleAfterMs: Math.max(this.leaseMs, 3000) });
      if (recovered.length > 0) this.wakeup.wake();
    });
    // Jobs that ended with no worker's report (cancelled while queued, or through a dependency) get their hook here.
    await this.guard('finish hooks', async () => {
      for (const ended of await this.store.takeFinishHooks({ limit: 100 })) this.jobEnded(ended.jobId, ended.state, ended.exitCode);
    });
    // Schedules fire from here too, so they keep time while every worker is busy.
    await this.guard('schedules', () => this.schedules.runOnce());
    await this.guard('retention', async () => {
      const purged = await this.retention.maybeSweep(this.config.retention, Date.now());
      if (purged > 0) this.log(`retention: deleted ${purged} finished job(s) older than ${this.config.retention! / 1000}s`);
    });
  }

  private async refreshConfig(): Promise<void> {
    const stored = await this.guard('config', () => this.store.getConfig());
    if (stored) this.config = resolveConfig(stored);
  }

  /** Store calls from the loop: a failure is logged and treated as "nothing now", never a crash. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      this.log(`${what} failed: ${(err as Error).message}`);
      if (what === 'claim') await this.wakeup.wait(500);
      return null;
    }
  }
}

/**
 * Collects a running job's output and writes it to the store: what one read of its capture files brought (both
 * streams) goes in one write, in pieces of OUTPUT_FLUSH_BYTES.
 */
class OutputBuffer {
  private chunks: { stream: OutputStream; data: string }[] = [];
  private bytes = 0;
  private pending: NodeJS.Immediate | null = null;
  private flushing: Promise<unknown> = Promise.resolve();

  constructor(private readonly write: (chunks: { stream: OutputStream; data: string }[]) => Promise<unknown>) {}

  add(stream: OutputStream, data: string): void {
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.stream === stream) last.data += data;
    else this.chunks.push({ stream, data });
    this.bytes += data.length;
    if (this.bytes >= OUTPUT_FLUSH_BYTES) this.flush();
    else this.pending ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    if (this.chunks.length === 0) return;
    const batch = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    this.flushing = this.flushing.then(() => this.write(batch));
  }

  async close(): Promise<void> {
    this.flush();
    await this.flushing;
  }
}
