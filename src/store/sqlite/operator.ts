import { ConflictError, NotFoundError } from '../../core/errors';
import { isTerminal, type JobState } from '../../core/job';
import { purgeQuotas } from '../purge-quota';
import type { CancelParams, CancelResult, PurgeParams, RetryJobsParams } from '../store';
import type { Connection } from './connection';
import { recordFinishHook, settleDependents } from './finish';
import * as Q from './queries';

/* The operator's actions (dlq retry and clear, cancel, purge), each inside the caller's write transaction. */

export function retryJobsIn(db: Connection, params: RetryJobsParams, now: number): string[] {
  const ids = params.allDead ? (db.stmt(Q.LIST_DEAD_IDS).all() as { id: string }[]).map((row) => row.id) : (params.ids ?? []);
  for (const id of ids) {
    if (db.stmt(Q.RETRY_JOB).run({ id, now, includeCompleted: params.includeCompleted ? 1 : 0 }).changes === 1) continue;
    const row = db.stmt(Q.GET_JOB_STATE).get(id) as { state: JobState } | undefined;
    if (!row) throw new NotFoundError(`no job with id '${id}'; see 'queuectl list'`);
    const retriable = params.includeCompleted ? 'dead, cancelled or completed' : 'dead or cancelled';
    throw new ConflictError(`job '${id}' is ${row.state}; only ${retriable} jobs can be retried`);
  }
  return ids;
}

export function clearDeadIn(db: Connection): number {
  const ids = (db.stmt(Q.LIST_DEAD_IDS).all() as { id: string }[]).map((row) => row.id);
  for (const id of ids) deleteJob(db, id);
  return ids.length;
}

export function cancelIn(db: Connection, params: CancelParams, now: number): CancelResult[] {
  const states = params.ids.map((id) => {
    const row = db.stmt(Q.GET_JOB_STATE).get(id) as { state: JobState } | undefined;
    if (!row) throw new NotFoundError(`no job with id '${id}'; see 'queuectl list'`);
    return row.state;
  });
  return params.ids.map((id, i): CancelResult => {
    const state = states[i]!;
    if (state === 'processing') {
      db.stmt(Q.FLAG_CANCEL).run({ id, signal: params.signal, now });
      return { id, action: 'signalled', state };
    }
    if (isTerminal(state)) return { id, action: 'unchanged', state };
    if (db.stmt(Q.CANCEL_QUEUED_JOB).get({ id, reason: 'cancelled by user', now })) recordFinishHook(db, id, now);
    settleDependents(db, id, 'cancelled', now);
    return { id, action: 'cancelled', state: 'cancelled' };
  });
}

export function purgeIn(db: Connection, params: PurgeParams, now: number): number {
  const before = now - params.olderThanMs;
  const quotas = purgeQuotas(params);
  let quota = quotas.next();
  while (!quota.done) {
    const ids = (db.stmt(Q.SELECT_FINISHED_BEFORE).all({ ...quota.value, before, queue: params.queue ?? null }) as { id: string }[]).map((row) => row.id);
    if (!params.dryRun) for (const id of ids) deleteJob(db, id);
    quota = quotas.next(ids.length);
  }
  return quota.value;
}

function deleteJob(db: Connection, id: string): void {
  db.stmt(Q.DELETE_JOB_OUTPUT).run(id);
  db.stmt(Q.DELETE_JOB_ATTEMPTS).run(id);
  db.stmt(Q.DELETE_JOB_DEPS).run(id);
  db.stmt(Q.DELETE_JOB).run(id);
}
