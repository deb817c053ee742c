import { resolveConfig } from '../../core/config';
import { idTakenError } from '../../core/dependencies';
import type { JobState } from '../../core/job';
import type { EnqueueParams, EnqueueResult } from '../store';
import { freshJobs, freshList, startsOf } from '../enqueue-rules';
import { CreatedJob, newJobRecord, toConfig, toJob, type ConfigRow, type JobRow } from '../rows';
import type { Connection } from './connection';
import * as Q from './queries';

/**
 * The body of `enqueue`, inside its write transaction (see Store.enqueue): one INSERT per job, in input order.
 * Returns one result per input job, in input order.
 */
export function enqueueJobs(db: Connection, params: EnqueueParams, now: number): EnqueueResult[] {
  const getState = db.stmt(Q.GET_JOB_STATE);
  const stateOf = (id: string) => (getState.get(id) as { state: JobState } | undefined)?.state;
  // A plain batch (no dependencies, no ifNotExists) needs no look-ups and no plan: every job starts pending, and the
  // insert itself reports a taken id. A bulk enqueue stays at one statement per job.
  const plain = !params.ifNotExists && params.jobs.every((job) => job.dependsOn.length === 0);
  const fresh = plain ? params.jobs : freshList(params.jobs, freshJobs(params.jobs, (id) => stateOf(id) !== undefined, !params.ifNotExists));
  const defaultMaxRetries = fresh.some((job) => job.maxRetries === null) ? resolveConfig(toConfig(db.stmt(Q.GET_CONFIG).all() as ConfigRow[]))['max-retries'] : 0;
  const startOf = startsOf(fresh, stateOf, { state: 'pending', reason: null, now, defaultMaxRetries }, !plain);
  const insert = db.stmt(Q.INSERT_JOB);
  const insertDep = db.stmt(Q.INSERT_DEP);
  const created: CreatedJob[] = [];
  // Insert in input order, not dependency order: rowid is the claim's last tie-break ("oldest first").
  for (let i = 0; i < fresh.length; i++) {
    const job = fresh[i]!;
    const start = startOf(job);
    const r = newJobRecord(job, start);
    const env = r.env === null ? null : JSON.stringify(r.env);
    const dependsOn = r.dependsOn.length === 0 ? null : JSON.stringify(r.dependsOn);
    const inserted = insert.run(r.id, r.command, r.queue, r.state, r.maxRetries, r.priority, r.runAt, r.timeout, r.cwd, env, dependsOn, now, now, r.finishedAt, r.lastError);
    if (inserted.changes === 0) throw idTakenError(job.id, fresh.slice(0, i).some((earlier) => earlier.id === job.id));
    for (const dep of job.dependsOn) insertDep.run(job.id, dep);
    created.push(new CreatedJob(job, start));
  }
  if (fresh === params.jobs) return created;
  const byJob = new Map(fresh.map((job, i) => [job, created[i]!]));
  return params.jobs.map((job): EnqueueResult => byJob.get(job) ?? { job: toJob(db.stmt(Q.GET_JOB).get(job.id) as JobRow), created: false });
}
