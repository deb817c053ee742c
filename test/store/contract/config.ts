import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { JOB_STATES } from '../../../src/core/job';
import { ok, next, newJob, zeroCounts, claimNext, runAttempt } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Counting jobs by state, and the config table. */
export function configContract(it: ContractIt): void {
  describe('counts and config', () => {
    it('counts jobs in every state', async ({ store }) => {
      const empty = await store.countJobs();
      assert.deepEqual(Object.keys(empty.counts).sort(), [...JOB_STATES].sort());
      assert.deepEqual(empty.counts, zeroCounts());
      assert.equal(empty.oldestPendingAt, null);

      await store.enqueue({ jobs: [newJob('run', { priority: 1 }), newJob('p1'), newJob('w', { dependsOn: ['p1'] })], ifNotExists: false });
      const [, p2] = await store.enqueue({ jobs: [newJob('x'), newJob('p2')], ifNotExists: false });
      await runAttempt(store, 'run', ok, next('completed'));
      await store.enqueue({ jobs: [newJob('run2', { priority: 1 })], ifNotExists: false });
      await claimNext(store);
      await store.cancel({ ids: ['x'], signal: 'SIGTERM' });
      const summary = await store.countJobs();
      assert.deepEqual(summary.counts, { waiting: 1, pending: 2, processing: 1, completed: 1, failed: 0, dead: 0, cancelled: 1 });
      const p1 = await store.getJob({ id: 'p1' });
      assert.equal(summary.oldestPendingAt, Math.min(p1!.createdAt, p2!.job.createdAt));
      assert.ok(summary.now >= p2!.job.createdAt);
    });

    it('sets, reads and unsets config values', async ({ store }) => {
      assert.deepEqual(await store.getConfig(), {});
      await store.setConfig({ key: 'max-retries', value: '7' });
      await store.setConfig({ key: 'retention', value: '7d' });
      await store.setConfig({ key: 'max-retries', value: '8' });
      assert.deepEqual(await store.getConfig(), { 'max-retries': '8', retention: '7d' });
      assert.equal(await store.unsetConfig({ key: 'max-retries' }), true);
      assert.equal(await store.unsetConfig({ key: 'max-retries' }), false);
      assert.deepEqual(await store.getConfig(), { retention: '7d' });
    });
  });
}
