import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StoreUnavailableError } from '../core/errors';
import { workerLiveness } from '../core/worker-liveness';
import { defaultDatabasePath, isPostgresUrl } from '../store/open-store';
import type { Store, WorkerRecord } from '../store/store';
import { listLocalWorkers, type LocalWorker } from './local-workers';
import { attemptMarker, currentHost, isProcessAlive } from '../platform/process-info';
import { forgetWorker } from './reaper';
import { KILL_GRACE_MS } from './runner';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Where background workers write their log: beside a SQLite file, else in the default data directory. */
export function workerLogPath(location: string): string {
  return isPostgresUrl(location) ? join(dirname(defaultDatabasePath()), 'workers.log') : `${location}.workers.log`;
}

/** The compiled CLI entry, which background workers run as `worker run`. */
const CLI_BIN = join(__dirname, '..', 'cli', 'bin.js');

/**
 * A worker's environment: ours, with the store's location, and without a job's attempt marker (a job may start
 * workers): a reaper recovering that job kills what carries its marker, and must not take these workers with it.
 */
function workerEnv(location: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, QUEUECTL_DB: location };
  for (const name of Object.keys(attemptMarker('', 0))) delete env[name];
  return env;
}

/**
 * Starts `count` detached worker processes, each running up to `concurrency` jobs at once, and waits until each has registered in the store, so a bad setup fails
 * here, loudly, rather than in a log nobody reads. The location travels in the environment, never in argv, so a
 * PostgreSQL password does not show in `ps`.
 */
export async function startBackgroundWorkers(params: {
  store: Store;
  location: string;
  count: number;
  /** Jobs each worker runs at once (default 1). */
  concurrency?: number;
  /** Only jobs of these queues; every queue when null or absent. */
  queues?: string[] | null;
}): Promise<{ pids: number[]; logPath: string }> {
  const logPath = workerLogPath(params.location);
  // With PostgreSQL the log goes to the data directory, which nothing else may have created yet.
  mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
  const logFd = openSync(logPath, 'a', 0o600);
  const args = [CLI_BIN, 'worker', 'run', '--concurrency', String(params.concurrency ?? 1)];
  if (params.queues) args.push('--queue', params.queues.join(','));
  const children = [];
  try {
    for (let i = 0; i < params.count; i++) {
      const child = spawn(process.execPath, args, {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: workerEnv(params.location),
      });
      child.unref();
      children.push(child);
    }
  } finally {
    closeSync(logFd);
  }
  const pids = children.map((child) => child.pid!).filter((pid) => pid !== undefined);
  const deadline = Date.now() + 15_000;
  // A worker seen registered has started, even if it is gone by a later look: a job may end it (and a peer reap and
  // deregister it) while its peers are still starting. What happens to it then is in the worker log, not a start error.
  const started = new Set<number>();
  for (;;) {
    for (const worker of await params.store.listWorkers({ staleAfterMs: 60_000 })) if (worker.host === currentHost()) started.add(worker.pid);
    if (pids.every((pid) => started.has(pid))) return { pids, logPath };
    const exited = pids.filter((pid) => !started.has(pid) && !isProcessAlive(pid, null));
    if (exited.length > 0 || Date.now() > deadline) {
      const tail = readTail(logPath);
      throw new StoreUnavailableError(
        `worker ${exited.length > 0 ? `pid ${exited.join(', ')} exited` : 'did not register in 15s'} before registering${tail ? `: ${tail}` : ''} (log: ${logPath})`,
      );
    }
    await sleep(25);
  }
}

function readTail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return lines[lines.length - 1]?.slice(0, 300) ?? '';
  } catch {
    return '';
  }
}

export interface StopOutcome {
  asked: number;
  /** Workers still running when we gave up (only with a timeout). */
  remaining: WorkerRecord[];
  /** True when the timeout passed and running jobs were killed and put back. */
  forced: boolean;
}

/**
 * Asks workers (all, or one host's) to stop through the store, so it reaches every host. With `wait`, returns once
 * they are gone. With `timeoutMs`, workers still busy after it kill their jobs' process groups, put the jobs back to
 * pending without counting an attempt, and exit. `staleAfterMs` is the stale limit of the liveness rule
 * (`workerStaleAfterMs`).
 */
export async function stopWorkers(params: { store: Store; host?: string; wait: boolean; timeoutMs: number | null; staleAfterMs: number }): Promise<StopOutcome> {
  const { store } = params;
  const known = new Map((await store.listWorkers({ staleAfterMs: params.staleAfterMs })).map((worker) => [worker.id, worker]));
  const asked = new Set(await store.requestStop({ mode: 'graceful', host: params.host }));
  if (!params.wait) return { asked: asked.size, remaining: [], forced: false };
  const deadline = params.timeoutMs === null ? Infinity : Date.now() + params.timeoutMs;
  const host = currentHost();
  const here = { host, isProcessAlive };
  let forcedAt: number | null = null;
  for (;;) {
    const remaining: WorkerRecord[] = [];
    const registered = new Map((await store.listWorkers({ staleAfterMs: params.staleAfterMs })).map((worker) => [worker.id, worker]));
    for (const id of asked) {
      const worker = registered.get(id);
      if (worker) {
        const liveness = workerLiveness(worker, here);
        // A stale worker of this host still has its process (else it would be `exited`): wait for that to exit.
        if (liveness === 'alive' || (liveness === 'stale' && worker.host === host)) remaining.push(worker);
        else await forgetWorker(store, id, liveness === 'exited');
        continue;
      }
      // A worker deregisters just before its process exits; on this host, "gone" means the process is gone too.
      const last = known.get(id);
      if (last && last.host === host && isProcessAlive(last.pid, last.pidStart)) remaining.push(last);
    }
    if (remaining.length === 0) return { asked: asked.size, remaining, forced: forcedAt !== null };
    const now = Date.now();
    if (forcedAt === null && now >= deadline) {
      forcedAt = now;
      await store.requestStop({ mode: 'kill', host: params.host });
    } else if (forcedAt !== null && now - forcedAt > KILL_GRACE_MS + params.staleAfterMs) {
      return { asked: asked.size, remaining, forced: true };
    }
    await sleep(50);
  }
}

/**
 * Stops this host's workers of a SQLite store by signal, for when the store cannot be read: SIGTERM asks each to stop
 * gracefully, as `worker stop` would through the store; after `timeoutMs` a second SIGTERM makes them kill their jobs.
 * Only processes recorded as the store's workers, with a matching start time, are signalled.
 */
export async function stopLocalWorkersByPid(params: { storePath: string; wait: boolean; timeoutMs: number | null }): Promise<{ asked: LocalWorker[]; remaining: LocalWorker[] }> {
  const asked = listLocalWorkers(params.storePath);
  const signal = (worker: LocalWorker) => {
    if (!isProcessAlive(worker.pid, worker.pidStart)) return;
    try {
      process.kill(worker.pid, 'SIGTERM');
    } catch {
      // Gone meanwhile.
    }
  };
  asked.forEach(signal);
  if (!params.wait) return { asked, remaining: [] };
  const deadline = params.timeoutMs === null ? Infinity : Date.now() + params.timeoutMs;
  let forcedAt: number | null = null;
  for (;;) {
    const remaining = asked.filter((worker) => isProcessAlive(worker.pid, worker.pidStart));
    if (remaining.length === 0) return { asked, remaining };
    const now = Date.now();
    if (forcedAt === null && now >= deadline) {
      forcedAt = now;
      remaining.forEach(signal);
    } else if (forcedAt !== null && now - forcedAt > 2 * KILL_GRACE_MS) {
      return { asked, remaining };
    }
    await sleep(50);
  }
}
