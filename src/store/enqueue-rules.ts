import { idTakenError, planEnqueue } from '../core/dependencies';
import type { JobState } from '../core/job';
import type { NewJob } from '../core/job-spec';
import type { JobStart } from './rows';

/*
 * The rules of an enqueue that every adapter applies the same way (see Store.enqueue); each adapter only finds the
 * states of existing jobs and inserts.
 */

/**
 * The jobs of a batch to insert, by id: the first job of each id that does not exist yet. A job whose id exists (in
 * the store, or earlier in this batch) is never planned: with ifNotExists it is returned as it is, and its real state,
 * not a planned one, decides the state of new jobs that depend on it. With `refuseTaken` a taken id throws at once.
 */
export function freshJobs(jobs: NewJob[], exists: (id: string) => boolean, refuseTaken: boolean): Map<string, NewJob> {
  const fresh = new Map<string, NewJob>();
  for (const job of jobs) {
    if (!fresh.has(job.id) && !exists(job.id)) fresh.set(job.id, job);
    else if (refuseTaken) throw idTakenError(job.id, fresh.has(job.id));
  }
  return fresh;
}

/** The fresh jobs as a list in input order: `jobs` itself when every job is fresh. */
export function freshList(jobs: NewJob[], fresh: Map<string, NewJob>): NewJob[] {
  return fresh.size === jobs.length ? jobs : [...fresh.values()];
}

/**
 * How each new job starts: `pending` unless `plan` (the batch has dependencies), when planEnqueue decides (waiting,
 * or cancelled when a dependency already ended badly). Pending jobs share the one `pending` start.
 */
export function startsOf(jobs: NewJob[], stateOf: (id: string) => JobState | undefined, pending: JobStart, plan: boolean): (job: NewJob) => JobStart {
  if (!plan) return () => pending;
  const planned = new Map(planEnqueue(jobs, stateOf).map((entry) => [entry.job, entry]));
  return (job) => {
    const entry = planned.get(job);
    return entry && entry.state !== 'pending' ? { ...pending, state: entry.state, reason: entry.reason } : pending;
  };
}
