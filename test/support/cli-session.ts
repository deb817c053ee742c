import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job, JobState } from '../../src/core/job';
import type { attemptToJson, JobJson, workerToJson } from '../../src/core/serialize';
import { stopWorkers, workerLogPath } from '../../src/worker/supervisor';
import type { Backend } from './backends';
import { processRuns, signalQuietly } from './processes';
import { runCli, startCli, type CliEnv, type CliResult } from './run-cli';
import { tempDir, type TempStore } from './temp-store';
import { waitFor } from './wait-for';

export type AttemptJson = ReturnType<typeof attemptToJson>;
export type WorkerJson = ReturnType<typeof workerToJson>;
export type ShownJob = JobJson & { history: AttemptJson[] };
export type { JobJson };

/**
 * One end-to-end test's world: a fresh store of one backend, a scratch directory for the files jobs write, and the
 * built CLI run as child processes against both. `close()` stops every worker it may have left running.
 */
export class CliSession {
  /** What child processes get: QUEUECTL_DB (and e.g. QUEUECTL_SCHEMA), run from the scratch directory. */
  readonly target: CliEnv;
  private readonly workerPids = new Set<number>();
  private readonly children = new Set<ChildProcess>();

  private constructor(
    /** The store, also open in this process so probes are cheap; assertions go through the CLI. */
    readonly temp: TempStore,
    /** Scratch directory: the CLI's cwd, where jobs write their files. */
    readonly dir: string,
    private readonly removeDir: () => void,
  ) {
    // XDG_DATA_HOME keeps a PostgreSQL session's worker log in the scratch directory too.
    mkdirSync(join(dir, 'data', 'queuectl'), { recursive: true });
    this.target = { location: temp.location, env: { ...temp.env, XDG_DATA_HOME: join(dir, 'data') }, cwd: dir };
  }

  static async open(backend: Backend): Promise<CliSession> {
    const temp = await backend.make();
    const { dir, cleanup } = tempDir('queuectl-e2e-');
    return new CliSession(temp, dir, cleanup);
  }

  /** A path in the scratch directory. */
  path(name: string): string {
    return join(this.dir, name);
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

  run(args: string[], options: { input?: string } = {}): Promise<CliResult> {
    return runCli(this.target, args, options);
  }

  /** Runs a command that must succeed; returns its stdout. */
  async ok(args: string[], options: { input?: string } = {}): Promise<string> {
    const result = await this.run(args, options);
    assert.equal(result.code, 0, `queuectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.ok([...args, '--json'])) as T;
  }

  enqueue(spec: Record<string, unknown>): Promise<string> {
    return this.ok(['enqueue', JSON.stringify(spec)]).then((out) => out.trim());
  }

  show(id: string): Promise<ShownJob> {
    return this.json<ShownJob>(['show', id]);
  }

  async configSet(key: string, value: string): Promise<void> {
    await this.ok(['config', 'set', key, value]);
  }

  /** `worker start --count N`; returns the workers' pids (kept, so close() can make sure they are gone). */
  async startWorkers(count = 1): Promise<number[]> {
    const out = await this.ok(['worker', 'start', '--count', String(count)]);
    const pids = (/pid ([\d ]+)/.exec(out)?.[1] ?? '').trim().split(' ').map(Number);
    assert.equal(pids.length, count, `worker start printed ${count} pid(s): ${out}`);
    for (const pid of pids) this.workerPids.add(pid);
    return pids;
  }

  /** A long-running CLI process (e.g. `worker start --foreground`); close() kills it if the test did not end it. */
  start(args: string[]): ReturnType<typeof startCli> {
    const started = startCli(this.target, args);
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
        const job = await this.temp.store.getJob({ id });
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

  /** Waits until job `id` runs and its command's process has been recorded; returns that attempt's number and pid. */
  waitForRunning(id: string, timeoutMs?: number): Promise<{ attempt: number; pid: number }> {
    return this.waitFor(`job ${id} to be running with its process recorded`, async () => {
      const job = await this.temp.store.getJob({ id });
      if (job?.state !== 'processing') return null;
      const attempt = (await this.temp.store.listAttempts({ jobId: id })).find((a) => a.attempt === job.attempts);
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
   * stop of the workers, then SIGKILL for any worker or CLI child still alive and for the process group of any job
   * still marked running.
   */
  async close(): Promise<void> {
    try {
      const registered = await this.temp.store.listWorkers({ staleAfterMs: 60_000 }).catch(() => []);
      for (const worker of registered) this.workerPids.add(worker.pid);
      if ([...this.workerPids].some(processRuns)) {
        // What `worker stop --timeout 2` does, in this process: one CLI start less per test.
        await stopWorkers({ store: this.temp.store, wait: true, timeoutMs: 2000, staleAfterMs: 5000 }).catch(() => undefined);
      }
      for (const child of this.children) if (child.pid !== undefined) signalQuietly(child.pid);
      for (const pid of this.workerPids) if (processRuns(pid)) signalQuietly(pid);
      for (const lease of await this.temp.store.listLeases().catch(() => [])) if (lease.pid !== null) signalQuietly(-lease.pid);
    } finally {
      await this.temp.cleanup();
      this.removeDir();
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
