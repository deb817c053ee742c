import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { JOB_STATES, type Job } from '../../../src/core/job';
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

    it('lists with an offset and a command search', async ({ store }) => {
      for (const id of ['a1', 'a2', 'a3']) await store.enqueue({ jobs: [newJob(id, { command: `backup ${id}` })], ifNotExists: false });
      await store.enqueue({ jobs: [newJob('other', { command: 'echo 100%_x' })], ifNotExists: false });
      const ids = (jobs: Job[]) => jobs.map((job) => job.id);
      assert.deepEqual(ids(await store.listJobs({ limit: 2, offset: 1 })), ['a3', 'a2']);
      assert.deepEqual(ids(await store.listJobs({ limit: 10, commandContains: 'backup' })), ['a3', 'a2', 'a1']);
      assert.deepEqual(ids(await store.listJobs({ limit: 10, commandContains: '%_' })), ['other'], 'the text is literal');
      assert.deepEqual(ids(await store.listJobs({ states: ['pending'], limit: 1, offset: 1, commandContains: 'backup' })), ['a2']);
    });

    it('counts only due jobs as the oldest pending, and gives the next scheduled run apart', async ({ store }) => {
      const [later] = await store.enqueue({ jobs: [newJob('later', { delayMs: 3_600_000 })], ifNotExists: false });
      const notDue = await store.countJobs();
      assert.equal(notDue.oldestPendingAt, null, 'a job not yet due is not waiting');
      assert.equal(notDue.nextRunAt, later!.job.runAt);
      const [due] = await store.enqueue({ jobs: [newJob('due')], ifNotExists: false });
      assert.equal((await store.countJobs()).oldestPendingAt, due!.job.runAt);
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
