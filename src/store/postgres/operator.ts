import { ConflictError, NotFoundError } from '../../core/errors';
import { isTerminal, type JobState } from '../../core/job';
import { purgeQuotas } from '../purge-quota';
import type { CancelParams, CancelResult, PurgeParams, RetryJobsParams } from '../store';
import type { Executor } from './connection';
import type { Queries } from './queries';

/* The operator's actions (dlq retry and clear, cancel, purge), each inside the caller's transaction. */

export async function retryJobsIn(tx: Executor, Q: Queries, params: RetryJobsParams): Promise<string[]> {
  const ids = params.allDead ? (await tx.query<{ id: string }>(Q.LOCK_DEAD_IDS)).map((row) => row.id) : (params.ids ?? []);
  if (ids.length === 0) return ids;
  const retried = new Set((await tx.query<{ id: string }>(Q.RETRY_JOBS, [ids, params.includeCompleted === true])).map((row) => row.id));
  // Name the first id that could not be retried, as a one-by-one retry would (a repeated id is pending by then).
  const firstIndex = new Map<string, number>();
  ids.forEach((id, i) => firstIndex.set(id, firstIndex.get(id) ?? i));
  const failed = ids.find((id, i) => !retried.has(id) || firstIndex.get(id) !== i);
  if (failed !== undefined) {
    const state = retried.has(failed) ? 'pending' : (await tx.query<{ state: JobState }>(Q.LOCK_JOB_STATES, [[failed]]))[0]?.state;
    if (state === undefined) throw new NotFoundError(`no job with id '${failed}'; see 'queuectl list'`);
    throw new ConflictError(`job '${failed}' is ${state}; only ${params.includeCompleted ? 'dead, cancelled or completed' : 'dead or cancelled'} jobs can be retried`);
  }
  return ids;
}

export async function clearDeadIn(tx: Executor, Q: Queries): Promise<number> {
  const ids = (await tx.query<{ id: string }>(Q.LOCK_DEAD_IDS)).map((row) => row.id);
  if (ids.length > 0) await tx.query(Q.DELETE_JOBS, [ids]);
  return ids.length;
}

export async function cancelIn(tx: Executor, Q: Queries, params: CancelParams): Promise<CancelResult[]> {
  const found = new Map<string, JobState>();
  for (const row of await tx.query<{ id: string; state: JobState }>(Q.LOCK_JOB_STATES, [params.ids])) found.set(row.id, row.state);
  const missing = params.ids.find((id) => !found.has(id));
  if (missing !== undefined) throw new NotFoundError(`no job with id '${missing}'; see 'queuectl list'`);
  const results: CancelResult[] = [];
  for (const id of params.ids) {
    const state = found.get(id)!;
    if (state === 'processing') {
      await tx.query(Q.FLAG_CANCEL, [id, params.signal]);
      results.push({ id, action: 'signalled', state });
    } else if (isTerminal(state)) {
      results.push({ id, action: 'unchanged', state });
    } else {
      await tx.query(Q.CANCEL_QUEUED_JOB, [id, 'cancelled by user']);
      await tx.query(Q.CANCEL_DEPENDENTS, [id, 'cancelled']);
      results.push({ id, action: 'cancelled', state: 'cancelled' });
    }
  }
  return results;
}

export async function purgeIn(tx: Executor, Q: Queries, params: PurgeParams): Promise<number> {
  const quotas = purgeQuotas(params);
  let quota = quotas.next();
  while (!quota.done) {
    const ids = (await tx.query<{ id: string }>(Q.SELECT_FINISHED_BEFORE, [quota.value.state, params.olderThanMs, quota.value.limit, params.queue ?? null])).map((row) => row.id);
    if (!params.dryRun && ids.length > 0) await tx.query(Q.DELETE_JOBS, [ids]);
    quota = quotas.next(ids.length);
  }
  return quota.value;
}
