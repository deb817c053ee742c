import type { JobState } from '../../core/job';
import type { FinishParams } from '../store';
import type { Connection } from './connection';
import * as Q from './queries';

/*
 * The worker's finish, and what a finish does to dependents, as statements inside the caller's write
 * transaction (PostgreSQL runs the same steps as the plpgsql functions of its migration 003). The claim is in ./claim.ts.
 */

/** What an applied finish changed that idle workers should hear about. */
export interface FinishApplied {
  /** Dependents that became pending. */
  promoted: number;
  /** The job's queue has a concurrency limit: its end frees a slot that idle workers may be waiting for. */
  freedLimitedSlot: boolean;
}

/** The guarded finish, inside the caller's write transaction; false when the lease was lost. */
export function finishIn(db: Connection, params: FinishParams, now: number): false | FinishApplied {
  const { jobId, workerId, attempt, result, next } = params;
  const finished = db.stmt(Q.FINISH_JOB).get({
    state: next.state,
    uncounted: next.countsAttempt ? 0 : 1,
    delayMs: next.retryDelayMs,
    error: result.error,
    exitCode: result.exitCode,
    jobId,
    workerId,
    attempt,
    now,
  }) as { queue_limit: number | null } | undefined;
  if (!finished) return false;
  db.stmt(Q.FINISH_ATTEMPT).run({ now, outcome: result.outcome, exitCode: result.exitCode, signal: result.signal, error: result.error, jobId, attempt });
  return { promoted: settleDependents(db, jobId, next.state, now), freedLimitedSlot: finished.queue_limit !== null };
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
