import { isTerminal, type JobState } from '../../src/core/job';
import type { AttemptJson, JobJson, ShownJob, WorkerJson } from '../support/cli-session';
import type { CliResult } from '../support/run-cli';
import { overlappingRuns, type Run, type RunLog } from './run-log';

/** Runs the CLI against the store under test (a CliSession does). */
export interface CliRunner {
  run(args: string[]): Promise<CliResult>;
}

/** What the invariants found; every list names the jobs and what was wrong with each. */
export interface InvariantReport {
  jobs: number;
  /** Acknowledged jobs the store no longer lists. */
  lost: string[];
  /** Jobs not in a final state. */
  unfinished: string[];
  /** Jobs `processing` whose lease ran out or whose worker is not alive. */
  processingWithoutLease: string[];
  /** Attempts of one job that ran at the same time: in the store's records, or in the jobs' own. */
  overlapping: string[];
  /** Runs whose real outcome the store does not show. */
  misrecorded: string[];
  /** CLI reads that failed: `list`, `show`, `status` must work whatever happened. */
  cliFailures: string[];
}

const READERS = 4;

async function json<T>(cli: CliRunner, args: string[], failures: string[]): Promise<T | null> {
  const result = await cli.run([...args, '--json']);
  if (result.code !== 0) {
    failures.push(`queuectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
    return null;
  }
  return JSON.parse(result.stdout) as T;
}

/**
 * Checks a chaos run's invariants through the CLI's `--json` output (never SQL) and the jobs' own run log: every
 * acknowledged job present, none `processing` without a live lease, no two attempts of a job at once, every run that
 * ended recorded with its real outcome.
 */
export async function checkInvariants(params: { cli: CliRunner; acknowledged: Iterable<string>; log: RunLog }): Promise<InvariantReport> {
  const { cli } = params;
  const cliFailures: string[] = [];
  const jobs = (await json<JobJson[]>(cli, ['list', '--limit', '1000000'], cliFailures)) ?? [];
  const workers = (await json<WorkerJson[]>(cli, ['worker', 'list'], cliFailures)) ?? [];
  await json(cli, ['status'], cliFailures);
  const listed = new Set(jobs.map((job) => job.id));
  const liveWorkers = new Set(workers.filter((worker) => worker.state !== 'gone').map((worker) => worker.id));

  const runs = params.log.runs();
  // A job that completed at its one run, as that run recorded, is consistent by its listing alone; the others (and
  // every tenth, so `show` is exercised throughout) are read with their history. Each CLI run costs tens of ms.
  const queue = jobs.filter((job, i) => i % 10 === 0 || !plainSuccess(job, runs.get(job.id) ?? []));
  const shown: ShownJob[] = [];
  await Promise.all(Array.from({ length: READERS }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const one = await json<ShownJob>(cli, ['show', job.id], cliFailures);
      if (one) shown.push(one);
    }
  }));

  const now = Date.now();
  const report: InvariantReport = {
    jobs: jobs.length,
    lost: [...params.acknowledged].filter((id) => !listed.has(id)),
    unfinished: [],
    processingWithoutLease: [],
    overlapping: overlappingRuns(runs),
    misrecorded: [],
    cliFailures,
  };
  for (const job of jobs) {
    if (!isTerminal(job.state as JobState)) report.unfinished.push(`${job.id} is ${job.state}`);
    if (job.state === 'processing') {
      const leaseEnd = job.lease_expires_at === null ? 0 : Date.parse(job.lease_expires_at);
      if (leaseEnd < now || job.worker_id === null || !liveWorkers.has(job.worker_id)) {
        report.processingWithoutLease.push(`${job.id}: worker ${job.worker_id} (${liveWorkers.has(job.worker_id ?? '') ? 'alive' : 'not alive'}), lease until ${job.lease_expires_at}`);
      }
    }
  }
  for (const job of shown) {
    report.overlapping.push(...overlappingAttempts(job));
    report.misrecorded.push(...misrecordedRuns(job, runs.get(job.id) ?? []));
  }
  return report;
}

/** Completed at its first and only run, which ended on its own with status 0: nothing to cross-check. */
function plainSuccess(job: JobJson, runs: Run[]): boolean {
  const [run, ...more] = runs;
  return job.state === 'completed' && job.attempts === 1 && job.exit_code === 0 && more.length === 0 && run?.attempt === 1 && run.rc === 0 && !run.overlap;
}

/** Attempts the store shows running at the same time: one starts before the one before it finished. */
function overlappingAttempts(job: ShownJob): string[] {
  const history = [...job.history].sort((a, b) => a.attempt - b.attempt);
  const problems: string[] = [];
  for (let i = 1; i < history.length; i++) {
    const [before, after] = [history[i - 1]!, history[i]!];
    if (before.finished_at === null) problems.push(`${job.id}: attempt ${after.attempt} started while attempt ${before.attempt} is still open`);
    else if (Date.parse(after.started_at!) < Date.parse(before.finished_at)) {
      problems.push(`${job.id}: attempt ${after.attempt} started at ${after.started_at}, before attempt ${before.attempt} finished at ${before.finished_at}`);
    }
  }
  return problems;
}

/**
 * Runs whose outcome the store got wrong: a run that ended on its own (its END line) must be recorded as `exit` with
 * its status, an attempt recorded as an exit must have run to that status, every run must be a known attempt, and a
 * finished job's state and exit code must be those of its last run.
 */
function misrecordedRuns(job: ShownJob, runs: Run[]): string[] {
  const problems: string[] = [];
  const byAttempt = new Map<number, AttemptJson>(job.history.map((attempt) => [attempt.attempt, attempt]));
  for (const run of runs) {
    const attempt = byAttempt.get(run.attempt);
    if (!attempt) {
      problems.push(`${job.id}: attempt ${run.attempt} ran but the store has no such attempt`);
      continue;
    }
    if (run.end !== null && (attempt.outcome !== 'exit' || attempt.exit_code !== run.rc)) {
      problems.push(`${job.id}: attempt ${run.attempt} exited ${run.rc} but is recorded as ${attempt.outcome} (exit ${attempt.exit_code})`);
    }
  }
  for (const attempt of job.history) {
    if (attempt.outcome !== 'exit' || attempt.exit_code === null) continue;
    const run = runs.find((r) => r.attempt === attempt.attempt);
    if (run?.end == null || run.rc !== attempt.exit_code) {
      problems.push(`${job.id}: attempt ${attempt.attempt} is recorded as exit ${attempt.exit_code} but its run ${run?.end == null ? 'never ended on its own' : `exited ${run.rc}`}`);
    }
  }
  const last = [...job.history].sort((a, b) => a.attempt - b.attempt).at(-1);
  if (job.state === 'completed' && (last?.outcome !== 'exit' || last.exit_code !== 0 || job.exit_code !== 0)) {
    problems.push(`${job.id}: completed, but its last attempt is ${last?.outcome} (exit ${last?.exit_code}) and the job says exit ${job.exit_code}`);
  }
  if (job.state === 'dead' && last?.outcome === 'exit' && job.exit_code !== last.exit_code) {
    problems.push(`${job.id}: dead with exit ${job.exit_code}, but its last attempt exited ${last.exit_code}`);
  }
  return problems;
}
