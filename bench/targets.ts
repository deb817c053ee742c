import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenStoreOptions } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import { isProcessAlive, processStartTime, signalProcessGroup } from '../src/platform/process-info';
import { benchEnv, Cleanup, progress, runCli, sleep } from './harness';

/** The stores a measurement can run against. */
export type Backend = 'sqlite' | 'postgres';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The server PostgreSQL targets are made on: --pg-url (run.ts sets it), else the default. */
let pgUrlInUse = DEFAULT_PG_URL;
export function usePgUrl(url: string): void {
  pgUrlInUse = url;
}

/** One fresh, empty store for one measurement: a SQLite file in a temp dir, or a new PostgreSQL schema. */
export interface Target {
  backend: Backend;
  /** QUEUECTL_DB. */
  location: string;
  /** Environment for CLI processes using this store. */
  env: NodeJS.ProcessEnv;
  /** A temp directory for the measurement's own files (JSONL input, timestamps written by jobs). */
  dir: string;
  /** Opens the store in this process; it is closed by the cleanup. */
  open(options?: OpenStoreOptions): Promise<Store>;
}

/**
 * Creates a target and registers its removal. A PostgreSQL schema is dropped with `psql` (the bench stays out of
 * the `pg` driver, which only src/store may use); if that fails the schema's name is printed for manual removal.
 */
export function createTarget(backend: Backend, name: string, cleanup: Cleanup, pgUrl = pgUrlInUse): Target {
  const dir = mkdtempSync(join(tmpdir(), `queuectl-bench-${name}-`));
  cleanup.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  // Worker logs of a PostgreSQL store go to $XDG_DATA_HOME/queuectl/: keep them in the temp dir too.
  mkdirSync(join(dir, 'queuectl'), { recursive: true });
  if (backend === 'sqlite') {
    const location = join(dir, 'queue.db');
    const env = benchEnv({ QUEUECTL_DB: location, XDG_DATA_HOME: dir });
    return { backend, location, env, dir, open: (options = {}) => openTracked(location, null, options, cleanup) };
  }
  const schema = `qbench_${name.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  cleanup.defer(`drop schema ${schema}`, () => dropSchema(pgUrl, schema));
  const env = benchEnv({ QUEUECTL_DB: pgUrl, QUEUECTL_SCHEMA: schema, XDG_DATA_HOME: dir });
  // The bench's own connections carry a name of their own, so the workers' server processes can be told apart.
  const benchUrl = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}application_name=${BENCH_APPLICATION}`;
  return { backend, location: pgUrl, env, dir, open: (options = {}) => openTracked(benchUrl, schema, options, cleanup) };
}

async function openTracked(location: string, schema: string | null, options: OpenStoreOptions, cleanup: Cleanup): Promise<Store> {
  // The PostgreSQL adapter takes its schema from QUEUECTL_SCHEMA, as CLI processes do.
  const previous = process.env.QUEUECTL_SCHEMA;
  if (schema !== null) process.env.QUEUECTL_SCHEMA = schema;
  try {
    const store = await openStore(location, options);
    cleanup.defer(`close store ${location}`, () => store.close());
    return store;
  } finally {
    if (previous === undefined) delete process.env.QUEUECTL_SCHEMA;
    else process.env.QUEUECTL_SCHEMA = previous;
  }
}

/** The application_name of the bench's own PostgreSQL connections (workers' are `queuectl`). */
const BENCH_APPLICATION = 'queuectl_bench';

/**
 * The server processes (PostgreSQL backends on this host) serving the workers of a target: connections named
 * `queuectl` whose last statement named the target's schema (each worker's pooled connection once it has claimed;
 * its LISTEN connection names only the channel). Read with `psql`; empty for SQLite or when that fails.
 */
export function workerBackends(target: Target): number[] {
  const schema = target.env.QUEUECTL_SCHEMA;
  if (target.backend !== 'postgres' || !schema) return [];
  const result = spawnSync('psql', [target.location, '-X', '-A', '-t', '-c', `SELECT pid FROM pg_stat_activity WHERE application_name = 'queuectl' AND query LIKE '%"${schema}"%'`], {
    encoding: 'utf8',
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    timeout: 30_000,
  });
  return result.status === 0 ? result.stdout.split('\n').map(Number).filter((pid) => pid > 0) : [];
}

function dropSchema(url: string, schema: string): void {
  const result = spawnSync('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], {
    encoding: 'utf8',
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`could not drop schema ${schema} (drop it by hand): ${result.error?.message ?? result.stderr.trim()}`);
}

/**
 * Whether PostgreSQL can be benchmarked: the server answers and the adapter is real (not the placeholder).
 * Returns null when usable, else the reason.
 */
export async function postgresUnavailable(url: string): Promise<string | null> {
  const probe = new Cleanup();
  try {
    const store = await createTarget('postgres', 'probe', probe, url).open();
    await store.now();
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await probe.runAll(progress);
  }
}

/** Background workers started by `worker start`, stopped for sure by the cleanup. */
export interface Workers {
  pids: number[];
  /** CPU time (user + system, ms) each worker process has used so far, from /proc; null where unreadable. */
  cpuMs(): (number | null)[];
  /** Stops them now (gracefully, then by force); safe to call twice. */
  stop(): Promise<void>;
}

/**
 * `worker start --count COUNT --concurrency CONCURRENCY`; `stopTimeoutSeconds` is how long a stop lets jobs in hand
 * finish before they are killed (and put back).
 */
export async function startWorkers(target: Target, count: number, cleanup: Cleanup, options: { concurrency?: number; stopTimeoutSeconds?: number } = {}): Promise<Workers> {
  const concurrency = options.concurrency ?? 1;
  const stopTimeout = String(options.stopTimeoutSeconds ?? 5);
  const identities: { pid: number; start: string | null }[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Through the store, so it also reaches workers that registered before `worker start` returned their pids.
    await runCli(target.env, ['worker', 'stop', '--timeout', stopTimeout], { allowFailure: true });
    const deadline = Date.now() + 5000 + Number(stopTimeout) * 1000;
    while (identities.some((w) => isProcessAlive(w.pid, w.start)) && Date.now() < deadline) await sleep(50);
    // Still here: kill by force, but only the very processes we started (same PID and start time).
    for (const w of identities) if (isProcessAlive(w.pid, w.start)) signalProcessGroup(w.pid, w.start, 'SIGKILL');
  };
  // Registered before the start, so an interruption while they start still stops them.
  cleanup.defer('stop workers', stop);
  const started = await runCli(target.env, ['worker', 'start', '--count', String(count), '--concurrency', String(concurrency)]);
  const pids = (/pid ([\d ]+)/.exec(started.stdout)?.[1] ?? '').trim().split(/\s+/).map(Number).filter((pid) => pid > 0);
  identities.push(...pids.map((pid) => ({ pid, start: processStartTime(pid) })));
  if (pids.length !== count) throw new Error(`worker start: expected ${count} pids in '${started.stdout.trim()}'`);
  return { pids, stop, cpuMs: () => pids.map(processCpuMs) };
}

/** Summed CPU time (ms) of these processes so far; null when one is unreadable. */
export function processesCpuMs(pids: number[]): number | null {
  const each = pids.map(processCpuMs);
  return each.some((ms) => ms === null) ? null : each.reduce((sum: number, ms) => sum + ms!, 0);
}

/** A process's own CPU time so far (utime + stime from /proc/PID/stat, in clock ticks of 10 ms), or null. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * Kills jobs left behind by a failure: the process groups whose leader PIDs jobs wrote (one a line) into `file`,
 * and only while that leader still runs `program` (a recycled PID is left alone).
 */
export function killRecordedJobs(file: string, program: string): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return;
  }
  for (const pid of text.split('\n').map(Number).filter((n) => n > 0)) {
    let argv0 = '';
    try {
      argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    } catch {
      continue;
    }
    if (argv0 === program) signalProcessGroup(pid, null, 'SIGKILL');
  }
}

/** The worker's log, for error messages. */
export function workerLogTail(target: Target): string {
  const path = target.backend === 'sqlite' ? `${target.location}.workers.log` : join(target.dir, 'queuectl', 'workers.log');
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '(no worker log)';
  }
}
