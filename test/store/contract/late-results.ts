import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { NewJob } from '../../../src/core/job-spec';
import type { AttemptResult } from '../../../src/core/transitions';
import type { Store } from '../../../src/store/store';
import type { TempStore } from '../../support/temp-store';

/** The late-result part of the Store contract (recordLateResult), run against every adapter. */
export function runLateResultContract(name: string, makeStore: () => Promise<TempStore>, options: { skip?: string | false } = {}): void {
  describe(`Store contract, late results: ${name}`, { skip: options.skip ?? false }, () => {
    let temp: TempStore;
    let store: Store;
    beforeEach(async () => {
      temp = await makeStore();
      store = temp.store;
    });
    afterEach(async () => {
      await temp.cleanup();
    });

    const job = (id: string): NewJob => ({ id, command: 'true', queue: 'default', maxRetries: 3, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [] });
    const lost: AttemptResult = { outcome: 'worker_lost', exitCode: null, signal: null, error: 'worker lost: lease of w1 expired' };
    const exited: AttemptResult = { outcome: 'exit', exitCode: 0, signal: null, error: 'exit code 0' };

    it('writes the real end onto an attempt recovered as lost, once, for its own worker only; the job stays as recovered', async () => {
      await store.enqueue({ jobs: [job('late')], ifNotExists: false });
      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
      assert.equal(claimed?.job.id, 'late');
      // A reaper recovers it: failed, to run again.
      assert.equal(await store.finishAttempt({ jobId: 'late', workerId: 'w1', attempt: 1, result: lost, next: { state: 'failed', retryDelayMs: 60_000, countsAttempt: true } }), true);

      assert.equal(await store.recordLateResult({ jobId: 'late', workerId: 'w2', attempt: 1, result: exited }), false, 'another worker');
      assert.equal(await store.recordLateResult({ jobId: 'late', workerId: 'w1', attempt: 1, result: exited }), true);
      assert.equal(await store.recordLateResult({ jobId: 'late', workerId: 'w1', attempt: 1, result: { ...exited, exitCode: 3 } }), false, 'only a lost attempt is corrected');
      const [attempt] = await store.listAttempts({ jobId: 'late' });
      assert.deepEqual([attempt?.outcome, attempt?.exitCode], ['exit', 0]);
      assert.equal((await store.getJob({ id: 'late' }))?.state, 'failed', 'the job stays as the recovery left it');
    });
  });
}
