import { toJob, type JobRow } from '../rows';
import type { ClaimedJob, ClaimParams, NextRunAtParams } from '../store';
import type { Connection } from './connection';
import * as Q from './queries';
import { hasDueJobs, isBlocked, nextRateStart, recordRateStart, specialQueues, startBudget, type SpecialQueueRow } from './queue-rules';

/*
 * The claim, inside the caller's write transaction (BEGIN IMMEDIATE serializes claimers, so each queue's count and
 * pace stay true until commit). A claim of every queue, or of one, with none paused or limited in play is one
 * statement with LIMIT. Otherwise it picks the jobs first, in claim order and within each queue's budget, then
 * takes them one by one.
 */

/** A runnable job as a claim orders it (seq is the rowid: the last tie-break, "oldest first" within a batch). */
interface Candidate {
  seq: number;
  queue: string;
  priority: number;
  run_at: number;
  created_at: number;
}

type ClaimedRow = JobRow & { seq: number };

/**
 * How many jobs of queues that may start nothing more a walk of all runnable jobs passes over before it gives up and
 * takes each other queue's best jobs from jobs_queue_runnable instead: a full or paused queue's backlog ahead of the
 * others in claim order must not make every claim step over it (and hold the write lock meanwhile). Measured here:
 * each job passed over costs about 2 us, the per-queue way about 30 us more than the fast path whatever the backlog.
 */
const MAX_PASSED_OVER = 16;

/** Claim order: priority, then the earliest run_at, then the oldest. */
function byClaimOrder(a: Candidate, b: Candidate): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.created_at - b.created_at || a.seq - b.seq;
}

export function claimIn(db: Connection, params: ClaimParams, now: number): ClaimedJob[] {
  const special = specialQueues((sql) => db.stmt(sql), params.queues);
  const fast = special.length === 0 && (params.queues === null || params.queues.length === 1);
  const rows = fast ? claimFast(db, params, now) : claimPicked(db, params, special, now);
  const insertAttempt = db.stmt(Q.INSERT_ATTEMPT);
  return rows.map((row) => {
    insertAttempt.run({ jobId: row.id, attempt: row.runs, workerId: params.workerId, host: params.host, now });
    return { job: toJob(row), attempt: row.runs };
  });
}

/** Every queue, or a single one, with no paused or limited queue in play: one statement. */
function claimFast(db: Connection, params: ClaimParams, now: number): ClaimedRow[] {
  const queue = params.queues?.[0] ?? null;
  const values = { workerId: params.workerId, leaseMs: params.leaseMs, now, limit: params.limit, queue };
  if (params.limit === 1) {
    const row = db.stmt(queue === null ? Q.CLAIM_ONE_JOB : Q.CLAIM_ONE_JOB_OF_QUEUE).get(values) as ClaimedRow | undefined;
    return row ? [row] : [];
  }
  return (db.stmt(queue === null ? Q.CLAIM_JOBS : Q.CLAIM_JOBS_OF_QUEUE).all(values) as ClaimedRow[]).sort(byClaimOrder);
}

/** Picks within each queue's budget (paused: none; a limit: its free slots; a rate: one when due), then takes. */
function claimPicked(db: Connection, params: ClaimParams, special: SpecialQueueRow[], now: number): ClaimedRow[] {
  const budgets = new Map<string, number>();
  for (const row of special) budgets.set(row.name, startBudget(row, now));
  const picked = params.queues === null ? walkAll(db, params.limit, budgets, now) : null;
  const chosen = picked ?? bestOfEachQueue(db, params.queues ?? runnableQueues(db), params.limit, budgets, now);
  const take = db.stmt(Q.CLAIM_JOB_AT);
  const rated = new Map(special.filter((row) => row.rate_count !== null).map((row) => [row.name, row]));
  return chosen.map((candidate) => {
    const row = take.get({ seq: candidate.seq, workerId: params.workerId, leaseMs: params.leaseMs, now }) as ClaimedRow;
    const rate = rated.get(row.queue);
    if (rate) recordRateStart((sql) => db.stmt(sql), rate, now);
    return row;
  });
}

/**
 * Walks all due jobs in claim order, passing over those of queues whose budget is spent; null when it passed over
 * more than MAX_PASSED_OVER before it had `limit` jobs.
 */
function walkAll(db: Connection, limit: number, budgets: Map<string, number>, now: number): Candidate[] | null {
  const left = new Map(budgets);
  const picked: Candidate[] = [];
  let passedOver = 0;
  for (const candidate of db.stmt(Q.WALK_RUNNABLE).iterate({ now }) as IterableIterator<Candidate>) {
    const budget = left.get(candidate.queue);
    if (budget === undefined || budget > 0) {
      if (budget !== undefined) left.set(candidate.queue, budget - 1);
      picked.push(candidate);
      if (picked.length === limit) break;
    } else if (++passedOver > MAX_PASSED_OVER) {
      return null;
    }
  }
  return picked;
}

/** Each queue's best due jobs within its budget, merged in claim order: as many index seeks as queues. */
function bestOfEachQueue(db: Connection, queues: readonly string[], limit: number, budgets: Map<string, number>, now: number): Candidate[] {
  const candidates: Candidate[] = [];
  const ofQueue = db.stmt(Q.RUNNABLE_OF_QUEUE);
  for (const queue of new Set(queues)) {
    const take = Math.min(limit, budgets.get(queue) ?? limit);
    if (take > 0) candidates.push(...(ofQueue.all({ queue, now, limit: take }) as Candidate[]));
  }
  return candidates.sort(byClaimOrder).slice(0, limit);
}

function runnableQueues(db: Connection): string[] {
  return (db.stmt(Q.RUNNABLE_QUEUES).all() as { name: string }[]).map((row) => row.name);
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
