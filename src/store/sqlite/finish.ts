import type { JobState } from '../../core/job';
import { toJob, type JobRow } from '../rows';
import type { ClaimedJob, ClaimParams, FinishParams } from '../store';
import type { Connection } from './connection';
import * as Q from './queries';

/*
 * The worker's claim and finish, and what a finish does to dependents, as statements inside the caller's write
 * transaction (PostgreSQL runs the same steps as the plpgsql functions of its migration 003).
 */

/** The claim's statements, inside the caller's write transaction. */
export function claimIn(db: Connection, params: ClaimParams, now: number): ClaimedJob | null {
  const row = db.stmt(Q.CLAIM_JOB).get({ workerId: params.workerId, leaseMs: params.leaseMs, now }) as JobRow | undefined;
  if (!row) return null;
  db.stmt(Q.INSERT_ATTEMPT).run({ jobId: row.id, attempt: row.runs, workerId: params.workerId, host: params.host, now });
  return { job: toJob(row), attempt: row.runs };
}

/** The guarded finish, inside the caller's write transaction; false when the lease was lost. */
export function finishIn(db: Connection, params: FinishParams, now: number): false | { promoted: number } {
  const { jobId, workerId, attempt, result, next } = params;
  const changed = db.stmt(Q.FINISH_JOB).run({
    state: next.state,
    uncounted: next.countsAttempt ? 0 : 1,
    delayMs: next.retryDelayMs,
    error: result.error,
    exitCode: result.exitCode,
    jobId,
    workerId,
    attempt,
    now,
  }).changes;
  if (changed === 0) return false;
  db.stmt(Q.FINISH_ATTEMPT).run({ now, outcome: result.outcome, exitCode: result.exitCode, signal: result.signal, error: result.error, jobId, attempt });
  return { promoted: settleDependents(db, jobId, next.state, now) };
}

/** Promotes or cancels the dependents of a finished job; returns how many became pending. */
export function settleDependents(db: Connection, jobId: string, state: JobState, now: number): number {
  if (state === 'completed') return db.stmt(Q.PROMOTE_DEPENDENTS).run({ jobId, now }).changes;
  if (state === 'dead' || state === 'cancelled') {
    const cancelled = db.stmt(Q.CANCEL_DEPENDENTS).all({ jobId, now, reason: `dependency '${jobId}' ended ${state}` }) as { id: string }[];
    for (const row of cancelled) recordFinishHook(db, row.id, now);
  }
  return 0;
}

/** A job cancelled here, with no worker to report it: a worker runs its on-finish hook later. */
export function recordFinishHook(db: Connection, jobId: string, now: number): void {
  db.stmt(Q.INSERT_FINISH_HOOK).run({ jobId, state: 'cancelled', exitCode: null, now });
}
