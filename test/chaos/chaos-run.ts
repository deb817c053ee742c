import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { isTerminal } from '../../src/core/job';
import type { Backend } from '../support/backends';
import { CliSession } from '../support/cli-session';
import { processRuns, signalQuietly } from '../support/processes';
import { runCli, type CliResult } from '../support/run-cli';
import { checkInvariants, type InvariantReport } from './invariants';
import { reportFigures } from './profile';
import { RunLog } from './run-log';

/** Chaos jobs: each sleeps a little and exits 0, or 3 for every `failEvery`-th; a failing job retries, then ends dead. */
export interface ChaosJobOptions {
  prefix: string;
  count: number;
  sleepSeconds?: number;
  /** Every n-th job exits 3 instead of 0. */
  failEvery?: number;
  maxRetries?: number;
}

/**
 * One chaos scenario's world: a CliSession on a fresh store, the jobs' run log, the jobs it acknowledged and the
 * worker pids it started and killed. `finish()` checks the invariants through the CLI and reports the figures.
 */
export class ChaosRun {
  readonly log: RunLog;
  readonly acknowledged = new Set<string>();
  /** Faults injected so far (kills, pauses, black holes, resets, restarts, full disks…). */
  faults = 0;
  private readonly started = new Set<number>();
  private readonly killed = new Set<number>();
  private readonly internalErrors: string[] = [];
  private readonly startedAt = Date.now();

  private constructor(readonly session: CliSession, readonly backend: string) {
    this.log = new RunLog(session.dir);
  }

  /** A fresh store of `backend`; everything it started is stopped when the test ends. */
  static async open(t: TestContext, backend: Backend): Promise<ChaosRun> {
    const session = await CliSession.open(backend);
    const run = new ChaosRun(session, backend.name);
    t.after(() => run.close());
    return run;
  }

  /** Runs the CLI (with extra environment, e.g. another QUEUECTL_HOST); an internal error is counted as a crash. */
  async cli(args: string[], options: { input?: string; env?: Record<string, string>; db?: string } = {}): Promise<CliResult> {
    const target = options.db === undefined ? this.session.target : { ...this.session.target, location: options.db };
    const result = await runCli(target, args, options);
    if (result.code === 70 || /internal error|\n\s+at /.test(result.stderr)) this.internalErrors.push(`queuectl ${args[0]}: ${result.stderr.trim().slice(0, 300)}`);
    return result;
  }

  async ok(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
    const result = await this.cli(args, options);
    assert.equal(result.code, 0, `queuectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** Chaos jobs: each records its run in the run log around a short sleep. */
  jobs(options: ChaosJobOptions): Record<string, unknown>[] {
    return Array.from({ length: options.count }, (_, i) => {
      const rc = options.failEvery !== undefined && i % options.failEvery === options.failEvery - 1 ? 3 : 0;
      return {
        id: `${options.prefix}-${String(i).padStart(4, '0')}`,
        command: this.log.command(`sleep ${options.sleepSeconds ?? 0.1}; (exit ${rc})`),
        max_retries: options.maxRetries ?? 20,
      };
    });
  }

  /** Enqueues specs in one `enqueue -f -`; the ids count as acknowledged only when it succeeded. */
  async enqueue(specs: Record<string, unknown>[]): Promise<CliResult> {
    const result = await this.cli(['enqueue', '-f', '-'], { input: `${specs.map((spec) => JSON.stringify(spec)).join('\n')}\n` });
    if (result.code === 0) for (const spec of specs) this.acknowledged.add(String(spec.id));
    return result;
  }

  /** `worker start --count N`, with extra environment (QUEUECTL_HOST, another QUEUECTL_DB…); returns the pids. */
  async startWorkers(count: number, options: { env?: Record<string, string>; db?: string } = {}): Promise<number[]> {
    const result = await this.cli(['worker', 'start', '--count', String(count)], options);
    assert.equal(result.code, 0, `worker start exited ${result.code}: ${result.stderr}`);
    const pids = (/pid ([\d ]+)/.exec(result.stdout)?.[1] ?? '').trim().split(' ').map(Number);
    assert.equal(pids.length, count, `worker start printed ${count} pid(s): ${result.stdout}`);
    for (const pid of pids) this.started.add(pid);
    return pids;
  }

  /** Worker pids started here and still running. */
  liveWorkers(): number[] {
    return [...this.started].filter((pid) => !this.killed.has(pid) && processRuns(pid));
  }

  /** Kills a worker with SIGKILL, as a fault: it does not count as a crash. */
  kill(pid: number): void {
    this.killed.add(pid);
    signalQuietly(pid, 'SIGKILL');
    this.faults++;
  }

  /** True once every acknowledged job has ended (probed in-process; the invariants are read through the CLI). */
  async allEnded(): Promise<boolean> {
    for (const id of this.acknowledged) {
      const job = await this.session.temp.store.getJob({ id });
      if (job !== null && !isTerminal(job.state)) return false;
    }
    return true;
  }

  /** Waits until every acknowledged job has ended. */
  async drain(timeoutMs: number): Promise<void> {
    await this.session.waitFor(`${this.acknowledged.size} jobs to end`, () => this.allEnded(), timeoutMs);
  }

  /** Workers that died without being killed here, and CLI runs that ended in an internal error. */
  crashes(): string[] {
    const died = [...this.started].filter((pid) => !this.killed.has(pid) && !processRuns(pid)).map((pid) => `worker pid ${pid} died unasked`);
    return [...died, ...this.internalErrors];
  }

  /**
   * Checks the invariants, reports the figures, then asserts them: nothing lost, nothing stuck or processing without a
   * lease, no overlap, every outcome real, no crash. `workersStopped` says the scenario stopped its workers on purpose.
   */
  async finish(t: TestContext, scenario: string, options: { badInputs?: number; workersStopped?: boolean } = {}): Promise<InvariantReport> {
    const report = await checkInvariants({ cli: { run: (args) => this.cli(args) }, acknowledged: this.acknowledged, log: this.log });
    const crashes = options.workersStopped ? this.internalErrors : this.crashes();
    reportFigures((message) => t.diagnostic(message), {
      scenario,
      backend: this.backend,
      jobs: report.jobs,
      faults: this.faults,
      lost: report.lost.length,
      overlapping: report.overlapping.length,
      stuck: report.unfinished.length + report.processingWithoutLease.length,
      misrecorded: report.misrecorded.length,
      badInputs: options.badInputs ?? 0,
      crashes: crashes.length,
      seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
    });
    const tail = `\nworker log:\n${this.session.workerLog().slice(-3000)}`;
    assert.deepEqual(report.cliFailures, [], 'list, show, worker list and status work');
    assert.deepEqual(report.lost, [], 'every acknowledged job is present');
    assert.deepEqual(report.processingWithoutLease, [], 'no job processing without a live lease');
    assert.deepEqual(report.unfinished, [], `every job ended${tail}`);
    assert.deepEqual(report.overlapping, [], 'no two attempts of a job at once');
    assert.deepEqual(report.misrecorded, [], 'every run recorded with its real outcome');
    assert.deepEqual(crashes, [], `nothing crashed${tail}`);
    return report;
  }

  private async close(): Promise<void> {
    for (const pid of this.started) if (processRuns(pid)) signalQuietly(pid, 'SIGCONT');
    await this.session.close();
    for (const pid of this.started) if (processRuns(pid)) signalQuietly(pid, 'SIGKILL');
  }
}
