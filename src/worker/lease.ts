import { systemClock, type Clock } from '../core/clock';
import type { HeartbeatReply, Store, WorkerIdentity, WorkerState } from '../store/store';

/**
 * The leases of the jobs in hand, kept from this side: the heartbeat renews them all, and each job's own watchdog kills
 * it before its lease can have lapsed when it was not renewed, whatever the store calls are doing meanwhile.
 */

/** How long every store call of a worker may take (Store.setCallDeadline): a third of the lease, within 250 ms-10 s. */
export function callDeadlineMs(leaseMs: number): number {
  return Math.min(10_000, Math.max(250, Math.floor(leaseMs / 3)));
}

/**
 * How long before the lease could lapse the watchdog kills the job: a fifth of the lease, within 100 ms-2 s. It covers
 * the kill itself and a clock that runs a little slow next to the store's.
 */
export function killMarginMs(leaseMs: number): number {
  return Math.min(2000, Math.max(100, Math.floor(leaseMs / 5)));
}

/**
 * The watchdog checks at least this often, so it also sees time pass that its timer did not (a suspended machine
 * stops the monotonic clock timers run on, not the wall clock that the store's lease is measured by).
 */
const CHECK_EVERY_MS = 250;
/** A check this late (and more than a quarter of the lease) means the process was stopped or the machine slept. */
const PAUSE_MS = 1000;

/**
 * Kills a job in hand when its lease cannot have been renewed. The lease runs from the moment a claim or renewal was
 * *sent* (the store sets it when the statement runs, later still), so after a renewal sent at `t` the lease lasts at
 * least until `t + leaseMs` by the store's clock; the watchdog fires `killMarginMs` before that. It runs on a timer
 * of its own: a store call that hangs, or a process frozen and resumed, cannot put it off.
 */
export class LeaseWatchdog {
  private killAt: number;
  private lastSentAt: number;
  private timer: NodeJS.Timeout | null = null;
  private scheduledFor = 0;
  private lapsedAt: number | null = null;

  constructor(
    private readonly params: {
      leaseMs: number;
      /** When the claim that granted the lease was sent (epoch ms, by `clock`). */
      sentAt: number;
      /** Called once, when the lease could have lapsed: kill the job's process group. */
      onLapse: (reason: string) => void;
      clock?: Clock;
      /** False in tests that call check() themselves. */
      timer?: boolean;
    },
  ) {
    this.killAt = this.deadline(params.sentAt, params.leaseMs);
    this.lastSentAt = params.sentAt;
    if (params.timer !== false) this.schedule();
  }

  private get clock(): Clock {
    return this.params.clock ?? systemClock;
  }

  /** True once the lease could have lapsed: the job must not run (or go on running) here. */
  get lapsed(): boolean {
    return this.lapsedAt !== null;
  }

  /**
   * A renewal sent at `sentAt` was granted. Checked first: a reply that arrives after the lease could have lapsed
   * (the process was frozen while it was under way) renews nothing, as another worker may already run the job.
   */
  renewed(sentAt: number, leaseMs: number): void {
    if (this.check()) return;
    // The renewal replaced the lease, with the lease-timeout of now: shorter, when it was lowered meanwhile.
    this.killAt = this.deadline(sentAt, leaseMs);
    this.lastSentAt = sentAt;
    if (this.timer) {
      clearTimeout(this.timer);
      this.schedule();
    }
  }

  /** Kills the job when the lease could have lapsed; returns whether it has. `pausedMs`: a pause the timer saw. */
  check(pausedMs = 0): boolean {
    if (this.lapsedAt !== null) return true;
    const now = this.clock.now();
    if (now < this.killAt) return false;
    this.lapsedAt = now;
    this.stop();
    const pause = pausedMs > 0 ? ` (this worker was paused for ${(pausedMs / 1000).toFixed(1)}s)` : '';
    this.params.onLapse(`its lease was last renewed ${((now - this.lastSentAt) / 1000).toFixed(1)}s ago and may have lapsed${pause}`);
    return true;
  }

  /** The job ended here (or was killed): nothing is left to watch. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private deadline(sentAt: number, leaseMs: number): number {
    return sentAt + leaseMs - killMarginMs(leaseMs);
  }

  private schedule(): void {
    const now = this.clock.now();
    const delay = Math.max(0, Math.min(this.killAt - now, CHECK_EVERY_MS));
    this.scheduledFor = now + delay;
    this.timer = setTimeout(() => this.onTimer(), delay);
    // A watchdog alone must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    // Before anything else: after a pause the job may be running twice already, so every millisecond counts.
    const late = this.clock.now() - this.scheduledFor;
    if (!this.check(late > Math.max(PAUSE_MS, this.params.leaseMs / 4) ? late : 0)) this.schedule();
  }
}

/** A job whose lease a heartbeat renews. */
export interface HeldLease {
  jobId: string;
  watchdog: LeaseWatchdog;
}

/** What the worker registers as: who it is, and what it serves (see Store.registerWorker). */
export interface WorkerRegistration {
  worker: WorkerIdentity;
  concurrency: number;
  queues: string[] | null;
}

/**
 * The worker's heartbeat: marks it alive, renews the leases of every job in hand in one call (arming each one's
 * watchdog from the time the renewal was sent), and registers the worker again at once when its row is gone: peers
 * remove a worker whose heartbeat went stale (it was paused, or cut off from the store), and `worker list` and
 * `worker stop` see only registered workers.
 */
export class Heartbeat {
  constructor(
    private readonly params: {
      store: Store;
      registration: WorkerRegistration;
      log: (line: string) => void;
      clock?: Clock;
    },
  ) {}

  /** One beat; the reply says what the worker was asked to do. A store error propagates (the caller logs it). */
  async runOnce(beat: { state: WorkerState; held: readonly HeldLease[]; leaseMs: number }): Promise<HeartbeatReply> {
    const { store, registration } = this.params;
    const sentAt = (this.params.clock ?? systemClock).now();
    const reply = await store.heartbeat({ workerId: registration.worker.id, state: beat.state, jobIds: beat.held.map((lease) => lease.jobId), leaseMs: beat.leaseMs });
    const lost = new Set(reply.lost);
    for (const lease of beat.held) if (!lost.has(lease.jobId)) lease.watchdog.renewed(sentAt, beat.leaseMs);
    if (!reply.registered) {
      this.params.log('registration was gone (this worker was paused or cut off from the store); registering again');
      await store.registerWorker(registration);
    }
    return reply;
  }
}
