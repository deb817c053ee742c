import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeConfigKey, validateConfigValue } from '../../src/core/config';
import { isTerminal, type Job, type JobState } from '../../src/core/job';
import { attemptToJson, jobToJson, type JobJson, type workerToJson } from '../../src/core/serialize';
import type { Store } from '../../src/store/store';
import { stopWorkers, workerLogPath } from '../../src/worker/supervisor';
import { after, before, describe, type TestContext } from 'node:test';
import { backends, type Backend } from './backends';
import { processRuns, signalQuietly } from './processes';
import { runCli, startCli, type CliEnv, type CliResult } from './run-cli';
import { tempDir, type TempStore } from './temp-store';
import { waitFor } from './wait-for';

export type AttemptJson = ReturnType<typeof attemptToJson>;
export type WorkerJson = ReturnType<typeof workerToJson>;
export type ShownJob = JobJson & { history: AttemptJson[] };
export type { JobJson };

/** Extra environment for one CLI run, e.g. `{ QUEUECTL_HOST: 'a' }` to act as another host. */
export type ExtraEnv = Record<string, string>;

/** How a CLI run may differ from the session's default: its own working directory, stdin, extra environment. */
export interface RunOptions {
  cwd?: string;
  input?: string;
  env?: ExtraEnv;
}

/**
 * One end-to-end test's world, whichever the store: a fresh store of one backend (SQLite, PostgreSQL on the shared
 * test server, or on a private one), a scratch directory for the files jobs write, and the built CLI run as child
 * processes against both. The store is also open in this process, so probes are cheap. `close()` stops every worker
 * the test may have left running, on every host, and whatever their jobs left.
 */
export class CliSession {
  private opened: { temp: TempStore; dir: string; removeDir: () => void } | null = null;
  private readonly workerPids = new Set<number>();
  private readonly children = new Set<ChildProcess>();

  /** A session still to be opened: for suites that declare their tests before their `before` hook opens it. */
  constructor(readonly backend: Backend) {}

  static async open(backend: Backend): Promise<CliSession> {
    const session = new CliSession(backend);
    await session.open();
    return session;
  }

  /** A fresh session for the test `t`, closed (its workers stopped) when that test ends. */
  static async forTest(t: TestContext, backend: Backend): Promise<CliSession> {
    const session = await CliSession.open(backend);
    t.after(() => session.close());
    return session;
  }

  async open(): Promise<void> {
    const temp = await this.backend.make();
    const scratch = tempDir('queuectl-e2e-');
    // A real path, so it compares equal to what a job's `pwd -P` prints.
    const dir = realpathSync(scratch.dir);
    // XDG_DATA_HOME keeps a PostgreSQL session's worker log in the scratch directory too.
    mkdirSync(join(dir, 'data', 'queuectl'), { recursive: true });
    this.opened = { temp, dir, removeDir: scratch.cleanup };
  }

  private get world(): { temp: TempStore; dir: string; removeDir: () => void } {
    assert.ok(this.opened, 'the session is not open');
    return this.opened;
  }

  /** The store and where CLI children find it. */
  get temp(): TempStore {
    return this.world.temp;
  }

  /** The store, open in this process: for set-up and probes; what a test is about goes through the CLI. */
  get store(): Store {
    return this.world.temp.store;
  }

  /** Scratch directory: the CLI's cwd, where jobs write their files. */
  get dir(): string {
    return this.world.dir;
  }

  /** What child processes get: QUEUECTL_DB (and e.g. QUEUECTL_SCHEMA), run from the scratch directory. */
  get target(): CliEnv {
    const { temp, dir } = this.world;
    return { location: temp.location, env: { ...temp.env, XDG_DATA_HOME: join(dir, 'data') }, cwd: dir };
  }

  /** A path in the scratch directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** A new directory under the scratch directory. */
  mkdir(name: string): string {
    const dir = this.path(name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Sets config values in this process, validated as `config set` would, e.g. before the workers start. */
  async setConfig(values: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(values)) await this.store.setConfig({ key, value: validateConfigValue(normalizeConfigKey(key), value) });
  }

  /**
   * A shell snippet that blocks until `open()` is called: a job built on it is still running whenever the test acts,
   * however slow the machine, where a `sleep` might already have ended.
   */
  gate(name = 'gate'): { wait: string; open: () => void } {
    const path = this.path(name);
    // It also gives up once the scratch directory is gone, so a job the test failed to release cannot spin forever.
    return { wait: `while [ ! -e ${path} ] && [ -d ${this.dir} ]; do sleep 0.05; done`, open: () => writeFileSync(path, '') };
  }

  run(args: string[], options: RunOptions = {}): Promise<CliResult> {
    const { cwd, ...rest } = options;
    return runCli({ ...this.target, ...(cwd === undefined ? {} : { cwd }) }, args, rest);
  }

  /** Runs a command that must succeed; returns its stdout. */
  async ok(args: string[], options: RunOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    assert.equal(result.code, 0, `queuectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** Runs a command that must succeed; returns its stdout trimmed, for one-line answers. */
  async say(args: string[], options: RunOptions = {}): Promise<string> {
    return (await this.ok(args, options)).trim();
  }

  async json<T>(args: string[], options: RunOptions = {}): Promise<T> {
    return JSON.parse(await this.ok([...args, '--json'], options)) as T;
  }

  enqueue(spec: Record<string, unknown>): Promise<string> {
    return this.say(['enqueue', JSON.stringify(spec)]);
  }

  /** Enqueues many jobs in one all-or-nothing `enqueue -f -`. */
  async enqueueMany(specs: Record<string, unknown>[]): Promise<void> {
    await this.ok(['enqueue', '-f', '-'], { input: specs.map((spec) => JSON.stringify(spec)).join('\n') + '\n' });
  }

  /** `show ID --json`, through the CLI. */
  show(id: string): Promise<ShownJob> {
    return this.json<ShownJob>(['show', id]);
  }

  /**
   * The job and its history exactly as `show ID --json` prints them (the same serializer), read in this process:
   * for suites that inspect many jobs, where a CLI process each time would cost more than the behaviour under test.
   */
  async inspect(id: string): Promise<ShownJob> {
    const job = await this.peek(id);
    assert.ok(job, `job ${id} exists`);
    const attempts = await this.store.listAttempts({ jobId: id });
    return { ...jobToJson(job), history: attempts.map(attemptToJson) };
  }

  /** The job as the store holds it now (null once deleted). */
  peek(id: string): Promise<Job | null> {
    return this.store.getJob({ id });
  }

  /** Every job, newest first. */
  list(): Promise<Job[]> {
    return this.store.listJobs({ limit: 1000 });
  }

  async configSet(key: string, value: string): Promise<void> {
    await this.ok(['config', 'set', key, value]);
  }

  /**
   * `worker start --count N` (as host `host` when given; `--concurrency C` and `--queue Q` when given); returns the
   * workers' pids (kept, so close() can make sure they are gone).
   */
  async startWorkers(count = 1, options: { host?: string; env?: ExtraEnv; concurrency?: number; queue?: string } = {}): Promise<number[]> {
    const env = { ...options.env, ...(options.host === undefined ? {} : { QUEUECTL_HOST: options.host }) };
    const args = ['worker', 'start', '--count', String(count)];
    if (options.concurrency !== undefined) args.push('--concurrency', String(options.concurrency));
    if (options.queue !== undefined) args.push('--queue', options.queue);
    const out = await this.ok(args, { env });
    const pids = (/pid ([\d ]+)/.exec(out)?.[1] ?? '').trim().split(' ').map(Number);
    assert.equal(pids.length, count, `worker start printed ${count} pid(s): ${out}`);
    for (const pid of pids) this.workerPids.add(pid);
    return pids;
  }

  /** A long-running CLI process (e.g. `worker start --foreground`); close() kills it if the test did not end it. */
  start(args: string[], options: { env?: ExtraEnv } = {}): ReturnType<typeof startCli> {
    const started = startCli(this.target, args, options);
    this.children.add(started.child);
    void started.exited.then(() => this.children.delete(started.child));
    return started;
  }

  /** Polls `probe` (usually against the store); on timeout the error also shows the worker log. */
  async waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
    try {
      return await waitFor(what, probe, { timeoutMs, intervalMs: 25 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nworker log:\n${this.workerLog().slice(-3000)}`);
    }
  }

  /** Waits until job `id` satisfies `done`; on timeout the error shows the job too. */
  async waitForJob(id: string, what: string, done: (job: Job) => boolean, timeoutMs?: number): Promise<Job> {
    try {
      return await this.waitFor(`job ${id} ${what}`, async () => {
        const job = await this.store.getJob({ id });
        return job !== null && done(job) ? job : null;
      }, timeoutMs);
    } catch (err) {
      const shown = await this.run(['show', id]);
      throw new Error(`${(err as Error).message}\n${shown.stdout}${shown.stderr}`);
    }
  }

  waitForState(id: string, state: JobState, timeoutMs?: number): Promise<Job> {
    return this.waitForJob(id, `to be ${state}`, (job) => job.state === state, timeoutMs);
  }

  /** Waits until job `id` has ended (completed, dead or cancelled), whichever way. */
  waitForEnd(id: string, timeoutMs?: number): Promise<Job> {
    return this.waitForJob(id, 'to end', (job) => isTerminal(job.state), timeoutMs);
  }

  /** Waits until job `id` runs and its command's process has been recorded; returns that attempt's number and pid. */
  waitForRunning(id: string, timeoutMs?: number): Promise<{ attempt: number; pid: number }> {
    return this.waitFor(`job ${id} to be running with its process recorded`, async () => {
      const job = await this.store.getJob({ id });
      if (job?.state !== 'processing') return null;
      const attempt = (await this.store.listAttempts({ jobId: id })).find((a) => a.attempt === job.attempts);
      return attempt?.pid == null ? null : { attempt: attempt.attempt, pid: attempt.pid };
    }, timeoutMs);
  }

  /** The background workers' log (beside a SQLite file; under XDG_DATA_HOME for PostgreSQL), for failure messages. */
  workerLog(): string {
    for (const path of [join(this.dir, 'data', 'queuectl', 'workers.log'), workerLogPath(this.temp.location)]) {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        // Try the next place.
      }
    }
    return '';
  }

  /**
   * Stops whatever the test left running, then removes the store and the scratch directory: a graceful-then-forced
   * stop of the workers (every host), then SIGKILL for any worker or CLI child still alive and for the process group
   * of any job still marked running. The server must be up (a test that stops it restarts it first).
   */
  async close(): Promise<void> {
    if (!this.opened) return;
    const { temp, removeDir } = this.opened;
    this.opened = null;
    try {
      const registered = await temp.store.listWorkers({ staleAfterMs: 60_000 }).catch(() => []);
      for (const worker of registered) this.workerPids.add(worker.pid);
      if ([...this.workerPids].some(processRuns)) {
        // What `worker stop --timeout 2` does, in this process: one CLI start less per test.
        await stopWorkers({ store: temp.store, wait: true, timeoutMs: 2000, staleAfterMs: 5000 }).catch(() => undefined);
      }
      for (const child of this.children) if (child.pid !== undefined) signalQuietly(child.pid);
      for (const pid of this.workerPids) if (processRuns(pid)) signalQuietly(pid);
      for (const lease of await temp.store.listLeases().catch(() => [])) if (lease.pid !== null) signalQuietly(-lease.pid);
    } finally {
      await temp.cleanup();
      removeDir();
    }
  }
}

/** Asserts a failed command's contract: its exit code, exactly one stderr line, nothing on stdout, no stack trace. */
export function assertCleanFailure(result: CliResult, expected: { code: number; message: RegExp }, what: string): void {
  const context = `${what}: exit ${result.code}, stdout ${JSON.stringify(result.stdout)}, stderr ${JSON.stringify(result.stderr)}`;
  assert.equal(result.code, expected.code, context);
  assert.equal(result.stdout, '', context);
  assert.ok(result.stderr.endsWith('\n'), context);
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one stderr line: ${context}`);
  assert.match(result.stderr, expected.message, context);
  assert.ok(!`${result.stdout}${result.stderr}`.includes('    at '), `no stack trace: ${context}`);
  assert.ok(!/internal error/.test(result.stderr), `an expected error, not an internal one: ${context}`);
}

/** Resolves with the exit code of a process from `start`, failing the test if it does not exit within `timeoutMs`. */
export async function exitCodeOf(cli: ReturnType<typeof startCli>, what: string, timeoutMs = 20_000): Promise<number> {
  let code: number | undefined;
  void cli.exited.then((c) => (code = c));
  try {
    await waitFor(`${what} to exit`, () => code !== undefined, { timeoutMs });
  } catch (err) {
    cli.child.kill('SIGKILL');
    throw err;
  }
  return code!;
}

/** Millisecond timestamp of an ISO time from `--json` output. */
export const ms = (iso: string | null): number => {
  assert.ok(iso, 'expected a timestamp');
  return Date.parse(iso);
};

/** Lines of a file the jobs append to ([] before the first append). */
export function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

/** A suite's shared session: background workers started for it (0: none), and config set before they start. */
export interface SharedSessionOptions {
  workers: number;
  /** `config set` before the workers start, so they see it from their first job; a function gets the scratch directory. */
  config?: Record<string, string> | ((scratch: string) => Record<string, string>);
}

/**
 * Declares the suite once per store backend, each in its own `describe` (skipped with its reason when the backend is
 * unavailable) around one session, its config and its workers, shared by the suite's tests: for behaviours cheap
 * enough that a fresh store and fresh workers per test would cost more than the test.
 */
export function describePerBackend(title: string, options: SharedSessionOptions, body: (session: CliSession) => void): void {
  // The backends share nothing, so their suites run side by side; the tests of one suite share its workers, so they
  // run one after the other (concurrency is inherited, hence the explicit false).
  describe(title, { concurrency: true }, () => {
    for (const backend of backends()) {
      describe(backend.name, { skip: backend.skip, concurrency: false }, () => {
        const session = new CliSession(backend);
        before(async () => {
          await session.open();
          await session.setConfig(typeof options.config === 'function' ? options.config(session.dir) : (options.config ?? {}));
          if (options.workers > 0) await session.startWorkers(options.workers);
        });
        after(async () => {
          let stopped: CliResult | null = null;
          try {
            stopped = await session.run(['worker', 'stop', '--timeout', '2']);
          } finally {
            await session.close();
          }
          assert.equal(stopped.code, 0, `worker stop failed: ${stopped.stderr}`);
        });
        body(session);
      });
    }
  });
}
