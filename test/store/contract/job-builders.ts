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
  return { id, command: 'true', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [], ...fields };
}

/** countJobs of an empty store. */
export function zeroCounts(): Record<Job['state'], number> {
  return { waiting: 0, pending: 0, processing: 0, completed: 0, failed: 0, dead: 0, cancelled: 0 };
}

/** Claims the next due job for `workerId`. */
export function claimNext(store: Store, workerId = 'w1', leaseMs = 60_000): Promise<ClaimedJob | null> {
  return store.claim({ workerId, host: 'test-host', leaseMs });
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
