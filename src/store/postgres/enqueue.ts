import { resolveConfig } from '../../core/config';
import { idTakenError } from '../../core/dependencies';
import type { Job, JobState } from '../../core/job';
import type { NewJob } from '../../core/job-spec';
import type { EnqueueParams, EnqueueResult } from '../store';
import { RetryableConflictError, type Executor } from './connection';
import type { Queries } from './queries';
import { freshJobs, freshList, startsOf } from '../enqueue-rules';
import { newJobRecord, toConfig, toJob, type ConfigRow, type JobRow } from '../rows';

/** Rows per multi-row INSERT of a bulk enqueue: few round trips, arrays still quick to build and parse. */
const ENQUEUE_BATCH = 5_000;

/**
 * The body of `enqueue`, inside its transaction: the same rules as the SQLite store (see Store.enqueue), with the
 * inserts batched into multi-row statements. Returns one result per input job, in input order.
 */
export async function enqueueJobs(
  tx: Executor,
  Q: Queries,
  params: EnqueueParams,
): Promise<EnqueueResult[]> {
  const hasDependencies = params.jobs.some((job) => job.dependsOn.length > 0);
  const now = (await tx.query<{ now: number }>(Q.NOW))[0]!.now;

  // With dependencies, existing jobs among the batch's ids and dependencies are looked up first and stay share-locked
  // until we commit: a dependency cannot finish (or vanish) unseen by the jobs about to wait on it.
  // Without, the insert's ON CONFLICT alone finds the ids that exist: a bulk enqueue makes no extra lookups.
  const states = new Map<string, JobState>();
  if (hasDependencies) {
    const known = [...new Set(params.jobs.flatMap((job) => [job.id, ...job.dependsOn]))];
    for (const row of await tx.query<{ id: string; state: JobState }>(Q.LOCK_KNOWN_STATES, [known])) states.set(row.id, row.state);
  }

  // Without dependencies a taken id is found by the insert's ON CONFLICT, not refused here.
  const fresh = freshJobs(params.jobs, (id) => states.has(id), !params.ifNotExists && hasDependencies);
  const newJobs = freshList(params.jobs, fresh);
  const needsDefault = newJobs.some((job) => job.maxRetries === null);
  const defaultMaxRetries = needsDefault ? resolveConfig(toConfig(await tx.query<ConfigRow>(Q.GET_CONFIG)))['max-retries'] : 0;
  // Without dependencies every new job starts pending: planning would only say so, 100,000 times over.
  const startOf = startsOf(newJobs, (id) => states.get(id), { state: 'pending', reason: null, now, defaultMaxRetries }, hasDependencies);

  // Insert in input order, not dependency order: seq is the claim's last tie-break ("oldest first"). Each batch is
  // built while the server inserts the one before it.
  const created = new Map<NewJob, Job>();
  let inFlight: { batch: NewJob[]; records: Job[]; existed: Promise<{ id: string }[]> } | null = null;
  const settle = async (sent: NonNullable<typeof inFlight>): Promise<void> => {
    const existed = await sent.existed;
    // Planned as new, but another enqueue committed one of the ids meanwhile: start over, and this time we see it.
    if (existed.length > 0 && hasDependencies) throw new ConcurrentInsertError();
    const skipped = new Set(existed.map((row) => row.id));
    sent.batch.forEach((job, i) => {
      if (!skipped.has(job.id)) created.set(job, sent.records[i]!);
    });
  };
  for (let start = 0; start < newJobs.length; start += ENQUEUE_BATCH) {
    const batch = newJobs.slice(start, start + ENQUEUE_BATCH);
    const records = batch.map((job) => newJobRecord(job, startOf(job)));
    const existed = tx.query<{ id: string }>(Q.INSERT_JOBS, insertParams(records, now));
    existed.catch(() => undefined); // awaited below; this only keeps a failure from counting as unhandled meanwhile
    if (inFlight) await settle(inFlight);
    inFlight = { batch, records, existed };
  }
  if (inFlight) await settle(inFlight);
  if (!params.ifNotExists) {
    // Name the first job of the input that was not created, as one-by-one inserts would.
    const first = params.jobs.find((job) => !created.has(job));
    if (first !== undefined) throw idTakenError(first.id, fresh.get(first.id) !== first && created.has(fresh.get(first.id)!));
  }

  const depJobs: string[] = [];
  const depIds: string[] = [];
  for (const job of created.values()) {
    for (const dep of job.dependsOn) {
      depJobs.push(job.id);
      depIds.push(dep);
    }
  }
  for (let start = 0; start < depJobs.length; start += ENQUEUE_BATCH) {
    await tx.query(Q.INSERT_DEPS, [depJobs.slice(start, start + ENQUEUE_BATCH), depIds.slice(start, start + ENQUEUE_BATCH)]);
  }

  const existingIds = params.jobs.filter((job) => !created.has(job)).map((job) => job.id);
  const existing = new Map<string, Job>();
  if (existingIds.length > 0) {
    for (const row of await tx.query<JobRow>(Q.GET_JOBS, [existingIds])) existing.set(row.id, toJob(row));
  }
  return params.jobs.map((job): EnqueueResult => {
    const record = created.get(job);
    return record ? { job: record, created: true } : { job: existing.get(job.id)!, created: false };
  });
}

/** An enqueue lost a race with another inserting the same id; its transaction runs again (and then sees it). */
class ConcurrentInsertError extends RetryableConflictError {
  constructor() {
    super('another enqueue inserted one of these job ids at the same moment; enqueue again');
  }
}

/** The parallel arrays INSERT_JOBS unnests, and the time. */
function insertParams(jobs: Job[], now: number): unknown[] {
  return [
    jobs.map((job) => job.id),
    jobs.map((job) => job.command),
    jobs.map((job) => job.state),
    jobs.map((job) => job.maxRetries),
    jobs.map((job) => job.priority),
    jobs.map((job) => job.runAt),
    jobs.map((job) => job.timeout),
    jobs.map((job) => job.cwd),
    jobs.map((job) => (job.env === null ? null : JSON.stringify(job.env))),
    jobs.map((job) => (job.dependsOn.length === 0 ? null : JSON.stringify(job.dependsOn))),
    now,
    jobs.map((job) => job.lastError),
    jobs.map((job) => job.queue),
  ];
}
