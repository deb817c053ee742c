import assert from 'node:assert/strict';
import type { Job } from '../../../src/core/job';
import type { NewJob } from '../../../src/core/job-spec';
import type { AttemptResult, NextState } from '../../../src/core/transitions';
import type { ClaimedJob, Store } from '../../../src/store/store';

/** A successful attempt. */
export const ok: AttemptResult = { outcome: 'exit', exitCode: 0, signal: null, error: null };

/** An attempt that exited `code`. */
export function exit(code: number): AttemptResult {
  return { outcome: 'exit', exitCode: code, signal: null, error: `exit code ${code}` };
}

/** What the job becomes after an attempt, counting it. */
export function next(state: NextState['state'], retryDelayMs = 0): NextState {
  return { state, retryDelayMs, countsAttempt: true };
}

/** An enqueue spec with every field at its default: `true`, due now. */
export function newJob(id: string, fields: Partial<NewJob> = {}): NewJob {
  return { id, command: 'true', queue: 'default', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [], ...fields };
}

/** countJobs of an empty store. */
export function zeroCounts(): Record<Job['state'], number> {
  return { waiting: 0, pending: 0, processing: 0, completed: 0, failed: 0, dead: 0, cancelled: 0 };
}

/** Claims the next due job for `workerId`, of any queue; null when none may start. */
export async function claimNext(store: Store, workerId = 'w1', leaseMs = 60_000): Promise<ClaimedJob | null> {
  const [claimed, ...more] = await store.claim({ workerId, host: 'test-host', leaseMs, limit: 1, queues: null });
  assert.equal(more.length, 0, 'a claim with limit 1 takes at most one job');
  return claimed ?? null;
}

/** Claims up to `limit` due jobs for `workerId` (of `queues`, all when null) and returns their ids in claim order. */
export async function claimIds(store: Store, limit: number, queues: string[] | null = null, workerId = 'w1'): Promise<string[]> {
  return (await store.claim({ workerId, host: 'test-host', leaseMs: 60_000, limit, queues })).map((claimed) => claimed.job.id);
}

/** Registers worker `id` with one slot, serving every queue. */
export function registerWorker(store: Store, id: string, host = 'h', pid = 1, pidStart: string | null = null): Promise<void> {
  return store.registerWorker({ worker: { id, host, pid, pidStart }, concurrency: 1, queues: null });
}

/** Claims the next job, which must be `id`, and ends its attempt as given. */
export async function runAttempt(store: Store, id: string, result: AttemptResult, nextState: NextState): Promise<ClaimedJob> {
  const claimed = await claimNext(store, 'w1');
  assert.equal(claimed?.job.id, id, `expected to claim ${id}`);
  const applied = await store.finishAttempt({ jobId: id, workerId: 'w1', attempt: claimed.attempt, result, next: nextState });
  assert.equal(applied, true, `finishing ${id}`);
  return claimed;
}

/** An assert.rejects validator: an instance of `type` whose message matches `message`. */
export function errorLike(type: new (...args: never[]) => Error, message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}
