import { toJob, type JobRow } from '../rows';
import type { ClaimedJob, ClaimParams, FinishParams } from '../store';

/*
 * The worker's claim and finish run in the plpgsql functions of migrations 7-11 (claim_jobs, finish_job,
 * finish_jobs_and_claim); these are their arguments and results.
 */

/** CLAIM_JOBS's arguments $1..$5. */
export function claimArgs(params: ClaimParams): unknown[] {
  return [params.workerId, params.leaseMs, params.host, Math.max(1, Math.floor(params.limit)), params.queues];
}

/**
 * FINISH_JOBS_AND_CLAIM's arguments $1..$14: the finishes (all of `workerId`) as parallel arrays, then the claim's
 * lease, host, limit (0: no claim) and queues.
 */
export function finishJobsArgs(workerId: string, finishes: FinishParams[], claim: ClaimParams | null): unknown[] {
  const column = <T>(pick: (finish: FinishParams) => T): T[] => finishes.map(pick);
  return [
    column((f) => f.next.state), column((f) => (f.next.countsAttempt ? 0 : 1)), column((f) => f.next.retryDelayMs),
    column((f) => f.result.error), column((f) => f.result.exitCode), column((f) => f.jobId), workerId,
    column((f) => f.attempt), column((f) => f.result.outcome), column((f) => f.result.signal),
    claim?.leaseMs ?? 0, claim?.host ?? '', claim === null ? 0 : Math.max(1, Math.floor(claim.limit)), claim?.queues ?? null,
  ];
}

/** The claimed jobs from claim_jobs's json array, in claim order (null: nothing could start). */
export function claimedJobs(rows: JobRow[] | null): ClaimedJob[] {
  return rows === null ? [] : rows.map((row) => ({ job: toJob(row), attempt: row.runs }));
}
