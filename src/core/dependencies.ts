import { ConflictError, UsageError } from './errors';
import type { JobState } from './job';
import type { NewJob } from './job-spec';

/** The state a new job starts in, given its dependencies. */
export interface PlannedJob {
  job: NewJob;
  state: Extract<JobState, 'pending' | 'waiting' | 'cancelled'>;
  /** Why it starts cancelled (a dependency already ended dead or cancelled). */
  reason: string | null;
}

/** A job id that is taken: by a job in the store, or by an earlier job of the same batch (`repeated`). */
export function idTakenError(id: string, repeated: boolean): ConflictError {
  const where = repeated ? 'appears twice in this batch' : 'already exists';
  return new ConflictError(`job '${id}' ${where}; choose another id or pass --if-not-exists`);
}

/**
 * Orders a batch so every job comes after the batch jobs it depends on, rejects unknown ids and cycles, and decides
 * each job's starting state. `stateOf` looks up jobs already in the store (undefined: no such job). Shared by every
 * store adapter so they agree on the rules.
 */
export function planEnqueue(jobs: NewJob[], stateOf: (id: string) => JobState | undefined): PlannedJob[] {
  const ids = new Set<string>();
  for (const job of jobs) {
    if (ids.has(job.id)) throw new ConflictError(`job '${job.id}' appears twice in this batch; give each job its own id`);
    ids.add(job.id);
  }
  if (jobs.every((job) => job.dependsOn.length === 0)) {
    return jobs.map((job) => ({ job, state: 'pending', reason: null }));
  }
  const inBatch = new Map(jobs.map((job) => [job.id, job]));
  const ordered: NewJob[] = [];
  const mark = new Map<string, 'visiting' | 'done'>();

  const visit = (job: NewJob, path: string[]): void => {
    const seen = mark.get(job.id);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(job.id)), job.id];
      throw new UsageError(`depends_on: dependency cycle ${cycle.join(' -> ')}; remove one of these dependencies`);
    }
    mark.set(job.id, 'visiting');
    for (const dep of job.dependsOn) {
      const batchDep = inBatch.get(dep);
      if (batchDep) visit(batchDep, [...path, job.id]);
      else if (stateOf(dep) === undefined) throw new UsageError(`depends_on: job '${job.id}' depends on unknown job '${dep}'; enqueue it first`);
    }
    mark.set(job.id, 'done');
    ordered.push(job);
  };
  for (const job of jobs) visit(job, []);

  const planned = new Map<string, PlannedJob>();
  for (const job of ordered) {
    let state: PlannedJob['state'] = 'pending';
    let reason: string | null = null;
    for (const dep of job.dependsOn) {
      const depState = planned.get(dep)?.state ?? stateOf(dep);
      if (depState === 'dead' || depState === 'cancelled') {
        state = 'cancelled';
        reason = `dependency '${dep}' ended ${depState}`;
        break;
      }
      if (depState !== 'completed') state = 'waiting';
    }
    planned.set(job.id, { job, state, reason });
  }
  return ordered.map((job) => planned.get(job.id)!);
}
