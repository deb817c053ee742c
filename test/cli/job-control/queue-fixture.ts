import assert from 'node:assert/strict';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { backends, type Backend } from '../../support/backends';
import { runCli, startCli, type CliEnv, type CliResult } from '../../support/run-cli';
import { tempDir, type TempStore } from '../../support/temp-store';
import { waitFor } from '../../support/wait-for';
import { normalizeConfigKey, validateConfigValue } from '../../../src/core/config';
import type { Job } from '../../../src/core/job';
import { attemptToJson, jobToJson } from '../../../src/core/serialize';
import type { Store } from '../../../src/store/store';

/** One attempt as `show --json` prints it. */
export interface AttemptView {
  attempt: number;
  pid: number | null;
  started_at: string;
  finished_at: string | null;
  outcome: string | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  output_bytes: number;
  output_truncated: boolean;
}

/** A job as `show --json` prints it. */
export interface JobView {
  id: string;
  command: string;
  state: string;
  attempts: number;
  run_at: string;
  cwd: string | null;
  env: Record<string, string> | null;
  depends_on: string[];
  finished_at: string | null;
  last_error: string | null;
  exit_code: number | null;
  history: AttemptView[];
}

export interface FixtureOptions {
  /** Background workers started for the suite (0: none). */
  workers: number;
  /** `config set` before the workers start, so they see it from their first job; a function gets the scratch directory. */
  config?: Record<string, string> | ((scratch: string) => Record<string, string>);
}

/**
 * One backend's store, a scratch directory and background workers, shared by the tests of one `describe`. What a test
 * is about happens through the built CLI. The store handle in this process sets the suite's config up front and reads
 * jobs back: polling, or inspecting, through a CLI process each time would cost more CPU than the behaviour under test.
 */
export class QueueFixture {
  private temp: TempStore | null = null;
  private scratchDir: { dir: string; cleanup: () => void } | null = null;

  constructor(readonly backend: Backend) {}

  /** Files the jobs and the test share (markers, pid files); a real path, so it compares equal to `pwd -P`. */
  get scratch(): string {
    assert.ok(this.scratchDir, 'the fixture has not started');
    return this.scratchDir.dir;
  }

  path(name: string): string {
    return join(this.scratch, name);
  }

  /** A new directory under the scratch directory. */
  mkdir(name: string): string {
    const dir = this.path(name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** What a CLI child needs: the store location, its extra environment, and the working directory. */
  target(cwd?: string): CliEnv {
    assert.ok(this.temp, 'the fixture has not started');
    // Worker logs of a PostgreSQL store go to the default data directory; keep them in the scratch directory.
    return { location: this.temp.location, env: { ...this.temp.env, XDG_DATA_HOME: this.scratch }, cwd };
  }

  async start(options: FixtureOptions): Promise<void> {
    const scratch = tempDir('queuectl-job-control-');
    this.scratchDir = { dir: realpathSync(scratch.dir), cleanup: scratch.cleanup };
    this.temp = await this.backend.make();
    const config = typeof options.config === 'function' ? options.config(this.scratch) : (options.config ?? {});
    for (const [key, value] of Object.entries(config)) await this.temp.store.setConfig({ key, value: validateConfigValue(normalizeConfigKey(key), value) });
    if (options.workers > 0) await this.ok(['worker', 'start', '--count', String(options.workers)]);
  }

  /** Stops the workers (killing what still runs after 2s), then removes the store and the scratch directory. */
  async stop(): Promise<void> {
    let stopped: CliResult | null = null;
    try {
      if (this.temp) stopped = await this.cli(['worker', 'stop', '--timeout', '2']);
    } finally {
      await this.temp?.cleanup();
      this.scratchDir?.cleanup();
      this.temp = null;
      this.scratchDir = null;
    }
    if (stopped) assert.equal(stopped.code, 0, `worker stop failed: ${stopped.stderr}`);
  }

  cli(args: string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
    return runCli(this.target(options.cwd), args, { input: options.input });
  }

  /** Runs a command that must succeed; returns its stdout, trimmed. */
  async ok(args: string[], options: { cwd?: string; input?: string } = {}): Promise<string> {
    const result = await this.cli(args, options);
    assert.equal(result.code, 0, `queuectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /** Starts a long-running CLI process (a follower, `enqueue --wait`). */
  spawn(args: string[]): ReturnType<typeof startCli> {
    return startCli(this.target(), args);
  }

  /** The job and its history exactly as `show ID --json` prints them (the same serializer), read in this process. */
  async show(id: string): Promise<JobView> {
    const job = await this.peek(id);
    assert.ok(job, `job ${id} exists`);
    const attempts = await this.store.listAttempts({ jobId: id });
    return { ...jobToJson(job), history: attempts.map(attemptToJson) } as JobView;
  }

  /** The store, to read what the CLI did. */
  get store(): Store {
    assert.ok(this.temp, 'the fixture has not started');
    return this.temp.store;
  }

  /** Every job, newest first. */
  list(): Promise<Job[]> {
    return this.store.listJobs({ limit: 1000 });
  }

  /** The job as the store holds it now (null once deleted). */
  peek(id: string): Promise<Job | null> {
    return this.store.getJob({ id });
  }

  /** Waits until the job is in `state`; returns it as the store holds it (`show` gives the CLI's view and history). */
  async waitForState(id: string, state: string, timeoutMs = 20_000): Promise<Job> {
    return waitFor(
      `job ${id} to be ${state}`,
      async () => {
        const job = await this.peek(id);
        return job?.state === state ? job : null;
      },
      { timeoutMs },
    );
  }
}

/** Resolves with the exit code of a process from `startCli`, failing the test if it does not exit within `timeoutMs`. */
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

/**
 * Declares the suite once per store backend, each in its own `describe` (skipped with its reason when the backend is
 * unavailable) with a fresh store, scratch directory and workers.
 */
export function describePerBackend(title: string, options: FixtureOptions, body: (queue: QueueFixture) => void): void {
  // The backends share nothing, so their suites run side by side; the tests of one suite share its workers, so they
  // run one after the other (concurrency is inherited, hence the explicit false).
  describe(title, { concurrency: true }, () => {
    for (const backend of backends()) {
      describe(backend.name, { skip: backend.skip, concurrency: false }, () => {
        const queue = new QueueFixture(backend);
        before(() => queue.start(options));
        after(() => queue.stop());
        body(queue);
      });
    }
  });
}
