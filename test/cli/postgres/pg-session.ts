import { processRuns } from '../../support/processes';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminal, type Job, type JobState } from '../../../src/core/job';
import { PostgresStore } from '../../../src/store/postgres/postgres-store';
import type { Store } from '../../../src/store/store';
import { dropSchema, randomSchema, TEST_PG_URL } from '../../support/temp-postgres';
import { runCli, type CliEnv, type CliResult } from '../../support/run-cli';
import { waitFor } from '../../support/wait-for';

/** Extra environment for one CLI run, e.g. `{ QUEUECTL_HOST: 'a' }` to act as another host. */
export type ExtraEnv = Record<string, string>;

/**
 * One multi-process PostgreSQL test's world: a fresh schema (on the shared test server, or on a private one), a
 * scratch directory that is the CLI's cwd and holds the worker log, and the built CLI run as child processes.
 * `close()` stops every worker the test may have left, on every host, then drops the schema.
 */
export class PgSession {
  /** What child processes get: QUEUECTL_DB, QUEUECTL_SCHEMA and XDG_DATA_HOME (so the worker log lands in `dir`). */
  readonly target: CliEnv;
  private readonly workerPids = new Set<number>();

  private constructor(
    /** The same schema opened in this process, for cheap probes; what the test asserts goes through the CLI too. */
    readonly store: Store,
    readonly url: string,
    readonly schema: string,
    /** Scratch directory: the CLI's cwd, where jobs write their files. */
    readonly dir: string,
  ) {
    mkdirSync(join(dir, 'data', 'queuectl'), { recursive: true });
    this.target = { location: url, env: { QUEUECTL_SCHEMA: schema, XDG_DATA_HOME: join(dir, 'data') }, cwd: dir };
  }

  /** A fresh schema on `url` (the shared test server by default). */
  static async open(url = TEST_PG_URL): Promise<PgSession> {
    const schema = randomSchema();
    const store = await PostgresStore.open(url, { schema });
    return new PgSession(store, url, schema, mkdtempSync(join(tmpdir(), 'queuectl-pg-e2e-')));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  run(args: string[], options: { input?: string; env?: ExtraEnv } = {}): Promise<CliResult> {
    return runCli(this.target, args, options);
  }

  /** Runs a command that must succeed; returns its stdout. */
  async ok(args: string[], options: { input?: string; env?: ExtraEnv } = {}): Promise<string> {
    const result = await this.run(args, options);
    assert.equal(result.code, 0, `queuectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  async json<T>(args: string[], options: { env?: ExtraEnv } = {}): Promise<T> {
    return JSON.parse(await this.ok([...args, '--json'], options)) as T;
  }

  /** Enqueues many jobs in one all-or-nothing `enqueue -f -`. */
  async enqueueMany(specs: Record<string, unknown>[]): Promise<void> {
    await this.ok(['enqueue', '-f', '-'], { input: specs.map((spec) => JSON.stringify(spec)).join('\n') + '\n' });
  }

  /** `worker start --count N` (as host `host` when given); returns the pids, which close() makes sure are gone. */
  async startWorkers(count: number, options: { host?: string; env?: ExtraEnv } = {}): Promise<number[]> {
    const env = { ...options.env, ...(options.host === undefined ? {} : { QUEUECTL_HOST: options.host }) };
    const out = await this.ok(['worker', 'start', '--count', String(count)], { env });
    const pids = (/pid ([\d ]+)/.exec(out)?.[1] ?? '').trim().split(' ').map(Number);
    assert.equal(pids.length, count, `worker start printed ${count} pid(s): ${out}`);
    for (const pid of pids) this.workerPids.add(pid);
    return pids;
  }

  /** Polls `probe`; on timeout the error also shows the end of the worker log. */
  async waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
    try {
      return await waitFor(what, probe, { timeoutMs, intervalMs: 25 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nworker log:\n${this.workerLog().slice(-4000)}`);
    }
  }

  /** Waits until job `id` is in `state`. */
  waitForState(id: string, state: JobState, timeoutMs?: number): Promise<Job> {
    return this.waitFor(`job ${id} to be ${state}`, async () => {
      const job = await this.store.getJob({ id });
      return job?.state === state ? job : null;
    }, timeoutMs);
  }

  /** Waits until job `id` has ended (completed, dead or cancelled), whichever way. */
  waitForEnd(id: string, timeoutMs?: number): Promise<Job> {
    return this.waitFor(`job ${id} to end`, async () => {
      const job = await this.store.getJob({ id });
      return job !== null && isTerminal(job.state) ? job : null;
    }, timeoutMs);
  }

  /** Waits until job `id` runs and its command's process group has been recorded. */
  waitForRunning(id: string, timeoutMs?: number): Promise<{ attempt: number; pid: number }> {
    return this.waitFor(`job ${id} to run with its process recorded`, async () => {
      const job = await this.store.getJob({ id });
      if (job?.state !== 'processing') return null;
      const attempt = (await this.store.listAttempts({ jobId: id })).at(-1);
      return attempt?.pid == null ? null : { attempt: attempt.attempt, pid: attempt.pid };
    }, timeoutMs);
  }

  workerLog(): string {
    try {
      return readFileSync(join(this.dir, 'data', 'queuectl', 'workers.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Stops whatever the test left running: `worker stop --timeout 2` (every host), then SIGKILL for any worker still
   * alive and for the process group of any job still marked running; then drops the schema and the scratch directory.
   * The server must be up (a test that stops it restarts it first).
   */
  async close(): Promise<void> {
    try {
      for (const worker of await this.store.listWorkers({ staleAfterMs: 60_000 }).catch(() => [])) this.workerPids.add(worker.pid);
      if ([...this.workerPids].some(processRuns)) await this.run(['worker', 'stop', '--timeout', '2']);
      for (const pid of this.workerPids) if (processRuns(pid)) signalQuietly(pid);
      for (const lease of await this.store.listLeases().catch(() => [])) if (lease.pid !== null) signalQuietly(-lease.pid);
    } finally {
      await this.store.close();
      // A private server is thrown away whole; on the shared one the schema goes.
      if (this.url === TEST_PG_URL) await dropSchema(this.schema).catch(() => undefined);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

export { processRuns };

/** Sends `signal` to a process (a negative pid: a process group), ignoring one that is already gone. */
export function signalQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Lines of a file the jobs append to ([] before the first append). */
export function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}
