import { toJob, type JobRow } from '../rows';
import type { ClaimedJob, ClaimParams, NextRunAtParams } from '../store';
import type { Connection } from './connection';
import * as Q from './queries';
import { hasDueJobs, isBlocked, nextRateStart, recordRateStart, specialQueues, startBudget, type SpecialQueueRow } from './queue-rules';

/*
 * The claim, inside the caller's write transaction (BEGIN IMMEDIATE serializes claimers, so each queue's count and
 * pace stay true until commit). With no paused or restricted queue in play it is one statement with LIMIT; otherwise
 * it walks the runnable jobs in claim order, giving each restricted queue at most what its limit and rate allow.
 */

type ClaimedRow = JobRow & { seq: number };

/** Claim order: priority, then the earliest run_at, then the oldest (rowid breaks ties within a batch). */
function byClaimOrder(a: ClaimedRow, b: ClaimedRow): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.created_at - b.created_at || a.seq - b.seq;
}

export function claimIn(db: Connection, params: ClaimParams, now: number): ClaimedJob[] {
  const special = specialQueues((sql) => db.stmt(sql), params.queues);
  const rows = special.length === 0 ? claimFast(db, params, now) : claimWalking(db, params, special, now);
  const insertAttempt = db.stmt(Q.INSERT_ATTEMPT);
  return rows.map((row) => {
    insertAttempt.run({ jobId: row.id, attempt: row.runs, workerId: params.workerId, host: params.host, now });
    return { job: toJob(row), attempt: row.runs };
  });
}

function claimFast(db: Connection, params: ClaimParams, now: number): ClaimedRow[] {
  const values = { workerId: params.workerId, leaseMs: params.leaseMs, now, limit: params.limit };
  const rows = (params.queues === null
    ? db.stmt(Q.CLAIM_JOBS).all(values)
    : db.stmt(Q.CLAIM_JOBS_OF_QUEUES).all({ ...values, queues: JSON.stringify(params.queues) })) as ClaimedRow[];
  return rows.length > 1 ? rows.sort(byClaimOrder) : rows;
}

/**
 * Walks the due jobs in claim order, leaving out queues that may start nothing more. When a queue uses up its budget
 * the walk starts again without it, rather than stepping over its remaining jobs one by one.
 */
function claimWalking(db: Connection, params: ClaimParams, special: SpecialQueueRow[], now: number): ClaimedRow[] {
  const budgets = new Map<string, number>();
  const rated = new Map<string, SpecialQueueRow>();
  const excluded: string[] = [];
  for (const row of special) {
    const budget = startBudget(row, now);
    if (budget <= 0) excluded.push(row.name);
    else if (budget !== Number.POSITIVE_INFINITY) budgets.set(row.name, budget);
    if (row.rate_count !== null && budget > 0) rated.set(row.name, row);
  }
  const queues = params.queues === null ? null : JSON.stringify(params.queues);
  const walk = db.stmt(Q.RUNNABLE_CANDIDATES);
  const take = db.stmt(Q.CLAIM_JOB_BY_ID);
  const claimed: ClaimedRow[] = [];
  for (;;) {
    const picked: string[] = [];
    let usedUp = false;
    for (const candidate of walk.iterate({ now, queues, excluded: JSON.stringify(excluded) }) as IterableIterator<{ id: string; queue: string }>) {
      picked.push(candidate.id);
      const left = budgets.get(candidate.queue);
      if (left !== undefined) {
        budgets.set(candidate.queue, left - 1);
        if (left === 1) {
          excluded.push(candidate.queue);
          usedUp = true;
        }
      }
      if (usedUp || claimed.length + picked.length >= params.limit) break;
    }
    for (const id of picked) {
      const row = take.get({ id, workerId: params.workerId, leaseMs: params.leaseMs, now }) as ClaimedRow;
      const rate = rated.get(row.queue);
      if (rate) recordRateStart((sql) => db.stmt(sql), rate, now);
      claimed.push(row);
    }
    if (!usedUp || claimed.length >= params.limit) return claimed;
  }
}

/**
 * When an idle worker serving `queues` should look again: the earliest later run_at of the queues that may start
 * something, or the next start a rate allows for a rate-limited queue with due jobs. Paused queues and queues at
 * their limit are left out: a setQueue or a finish wakes workers for them.
 */
export function nextRunAtIn(db: Connection, params: NextRunAtParams, now: number): number | null {
  const special = specialQueues((sql) => db.stmt(sql), params.queues);
  if (special.length === 0 && params.queues === null) return (db.stmt(Q.NEXT_RUN_AT).get({ now }) as { at: number | null }).at;
  const excluded = special.filter(isBlocked).map((row) => row.name);
  const queues = params.queues === null ? null : JSON.stringify(params.queues);
  let at = (db.stmt(Q.NEXT_RUN_AT_OF_QUEUES).get({ now, queues, excluded: JSON.stringify(excluded) }) as { at: number | null }).at;
  for (const row of special) {
    if (row.rate_count === null || isBlocked(row) || !hasDueJobs((sql) => db.stmt(sql), row.name, now)) continue;
    const next = nextRateStart(row);
    if (at === null || next < at) at = next;
  }
  return at;
}
