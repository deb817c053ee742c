import type { WorkerRecord } from './records';

/**
 * The shortest stale limit: a worker heartbeats every `lease-timeout / 3` (at most every second), and a tick can lag
 * behind a busy store, so with a very short lease a heartbeat a little late must not yet count as gone.
 */
const MIN_STALE_MS = 3000;

/**
 * How old a worker's last heartbeat may be while the worker still counts as alive: its lease timeout, at least 3 s.
 * Pass it to `Store.listWorkers` so that `heartbeatExpired` means the same everywhere.
 */
export function workerStaleAfterMs(leaseTimeoutMs: number): number {
  return Math.max(leaseTimeoutMs, MIN_STALE_MS);
}

/** What the host asking can tell about a worker: its own name, and whether a process of its own still runs. */
export interface HostView {
  host: string;
  /** True when `pid` runs and is the process that started at `pidStart` (a recycled PID is not). */
  isProcessAlive(pid: number, pidStart: string | null): boolean;
}

/**
 * `alive`: heartbeating, and, when it runs on this host, its process is there. `stale`: its heartbeat is older than
 * the stale limit (its process may still run, paused or cut off from the store). `exited`: it ran on this host and its
 * process is gone, which is certain, so what it left on this host may be cleaned up.
 */
export type WorkerLiveness = 'alive' | 'stale' | 'exited';

/**
 * The one rule for whether a registered worker is alive, used by `status`, `worker list`, `worker stop` and the
 * reaper. `worker` must come from `listWorkers({ staleAfterMs: workerStaleAfterMs(leaseMs) })`.
 */
export function workerLiveness(worker: WorkerRecord, here: HostView): WorkerLiveness {
  if (worker.host === here.host && !here.isProcessAlive(worker.pid, worker.pidStart)) return 'exited';
  return worker.heartbeatExpired ? 'stale' : 'alive';
}

export function isWorkerAlive(worker: WorkerRecord, here: HostView): boolean {
  return workerLiveness(worker, here) === 'alive';
}
