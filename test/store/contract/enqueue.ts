import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { ConflictError } from '../../../src/core/errors';
import type { Store } from '../../../src/store/store';
import { ok, exit, next, newJob, claimNext, runAttempt, errorLike } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Enqueueing: defaults, fields, duplicate ids, ifNotExists, delays; listing jobs and the next run. */
export function enqueueContract(it: ContractIt): void {
  describe('enqueue', () => {
    it('returns new pending jobs with defaults, max_retries from the config', async ({ store }) => {
      const before = await store.now();
      const [result] = await store.enqueue({ jobs: [newJob('a', { command: 'echo hi' })], ifNotExists: false });
      const after = await store.now();
      assert.ok(result);
      assert.equal(result.created, true);
      const job = result.job;
      assert.deepEqual(
        { id: job.id, command: job.command, state: job.state, attempts: job.attempts, maxRetries: job.maxRetries, priority: job.priority },
        { id: 'a', command: 'echo hi', state: 'pending', attempts: 0, maxRetries: 3, priority: 0 },
      );
      assert.deepEqual(
        [job.timeout, job.cwd, job.env, job.dependsOn, job.finishedAt, job.workerId, job.leaseExpiresAt, job.lastError, job.exitCode, job.cancelSignal],
        [null, null, null, [], null, null, null, null, null, null],
      );
      assert.ok(job.createdAt >= before && job.createdAt <= after, 'createdAt is the store time of the enqueue');
      assert.equal(job.runAt, job.createdAt);
      assert.deepEqual(await store.getJob({ id: 'a' }), job, 'the returned job is what getJob reads back');

      await store.setConfig({ key: 'max-retries', value: '5' });
      const [fromConfig, explicit] = await store.enqueue({ jobs: [newJob('b'), newJob('c', { maxRetries: 0 })], ifNotExists: false });
      assert.equal(fromConfig?.job.maxRetries, 5);
      assert.equal(explicit?.job.maxRetries, 0);
    });

    it('stores every field of a job as given', async ({ store }) => {
      const runAt = (await store.now()) - 5_000;
      const spec = newJob('full', { command: 'make -j4', maxRetries: 7, priority: -3, runAt, timeout: 2.5, cwd: '/srv/app', env: { A: '1', B_2: 'two words' } });
      const [result] = await store.enqueue({ jobs: [spec], ifNotExists: false });
      const job = await store.getJob({ id: 'full' });
      assert.deepEqual(job, result?.job);
      assert.deepEqual(
        { command: job?.command, maxRetries: job?.maxRetries, priority: job?.priority, runAt: job?.runAt, timeout: job?.timeout, cwd: job?.cwd, env: job?.env },
        { command: 'make -j4', maxRetries: 7, priority: -3, runAt, timeout: 2.5, cwd: '/srv/app', env: { A: '1', B_2: 'two words' } },
      );
    });

    it('rejects a duplicate id with a ConflictError naming it, inserting nothing of the batch', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('dup')], ifNotExists: false });
      await assert.rejects(
        store.enqueue({ jobs: [newJob('x1'), newJob('x2'), newJob('dup'), newJob('x4')], ifNotExists: false }),
        errorLike(ConflictError, /'dup'/),
      );
      for (const id of ['x1', 'x2', 'x4']) assert.equal(await store.getJob({ id }), null, `${id} was not inserted`);
      assert.equal((await store.countJobs()).counts.pending, 1);
    });

    it('rejects an id repeated inside one batch, with or without dependencies', async ({ store }) => {
      await assert.rejects(store.enqueue({ jobs: [newJob('y'), newJob('y')], ifNotExists: false }), errorLike(ConflictError, /'y'/));
      await assert.rejects(
        store.enqueue({ jobs: [newJob('base'), newJob('z', { dependsOn: ['base'] }), newJob('z')], ifNotExists: false }),
        errorLike(ConflictError, /'z'/),
      );
      assert.equal((await store.listJobs({ limit: 10 })).length, 0);
    });

    it('with ifNotExists returns the existing job untouched with created: false', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a', { command: 'echo one' })], ifNotExists: false });
      const results = await store.enqueue({ jobs: [newJob('a', { command: 'echo two' }), newJob('b')], ifNotExists: true });
      assert.deepEqual(results.map((r) => [r.job.id, r.created, r.job.command]), [['a', false, 'echo one'], ['b', true, 'true']]);
      assert.equal((await store.getJob({ id: 'a' }))?.command, 'echo one');
    });

    it('with ifNotExists, a new job depending on an existing batch job follows that job\'s real state', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('done'), newJob('gone', { priority: -1 })], ifNotExists: false });
      await runAttempt(store, 'done', ok, next('completed'));
      await runAttempt(store, 'gone', exit(1), next('dead'));
      const results = await store.enqueue({
        jobs: [newJob('done'), newJob('after-done', { dependsOn: ['done'] }), newJob('gone'), newJob('after-gone', { dependsOn: ['gone'] })],
        ifNotExists: true,
      });
      assert.deepEqual(
        results.map((r) => [r.job.id, r.created, r.job.state]),
        [['done', false, 'completed'], ['after-done', true, 'pending'], ['gone', false, 'dead'], ['after-gone', true, 'cancelled']],
      );
    });

    it('returns results in input order even when dependencies reorder the batch', async ({ store }) => {
      const results = await store.enqueue({
        jobs: [newJob('c', { dependsOn: ['b'] }), newJob('b', { dependsOn: ['a'] }), newJob('a')],
        ifNotExists: false,
      });
      assert.deepEqual(results.map((r) => [r.job.id, r.job.state]), [['c', 'waiting'], ['b', 'waiting'], ['a', 'pending']]);
    });

    it('getJobs reads the jobs of many ids at once, leaving out unknown ones', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a'), newJob('b', { queue: 'other' }), newJob('c')], ifNotExists: false });
      const jobs = await store.getJobs({ ids: ['c', 'nope', 'a', 'b'] });
      assert.deepEqual(jobs.map((job) => job.id).sort(), ['a', 'b', 'c']);
      for (const job of jobs) assert.deepEqual(job, await store.getJob({ id: job.id }));
      assert.deepEqual(await store.getJobs({ ids: [] }), []);
    });

    it('getJob of an unknown id is null', async ({ store }) => {
      assert.equal(await store.getJob({ id: 'nope' }), null);
    });

    it('holds back a job with delayMs or runAt until it is due', async ({ store, elapse }) => {
      const now = await store.now();
      await store.enqueue({
        jobs: [newJob('later', { delayMs: 3_600_000 }), newJob('at', { runAt: now + 7_200_000 }), newJob('past', { runAt: now - 60_000, priority: -1 })],
        ifNotExists: false,
      });
      const later = await store.getJob({ id: 'later' });
      assert.ok(later && later.runAt >= now + 3_600_000 && later.state === 'pending');
      assert.equal((await store.getJob({ id: 'at' }))?.runAt, now + 7_200_000);

      assert.equal((await claimNext(store))?.job.id, 'past', 'a runAt in the past is due at once');
      assert.equal(await claimNext(store), null, 'jobs not due yet are not claimable');
      assert.equal(await store.nextRunAt({ queues: null }), later.runAt, 'nextRunAt names the earliest job runnable later');

      const [soon] = await store.enqueue({ jobs: [newJob('soon', { delayMs: 50 })], ifNotExists: false });
      assert.ok(soon && soon.job.runAt >= soon.job.createdAt + 50);
      await elapse(50);
      const claimed = await claimNext(store, 'w1', 60_000);
      assert.ok(claimed, 'claimable once its delay has passed');
      assert.equal(claimed.job.id, 'soon');
      assert.ok(claimed.job.leaseExpiresAt! - 60_000 >= soon.job.runAt, 'claimed no earlier than its runAt');
    });
  });

  describe('listJobs and nextRunAt', () => {
    it('lists newest first, filtered by states, up to the limit', async ({ store }) => {
      await store.enqueue({ jobs: ['j1', 'j2', 'j3', 'j4'].map((id) => newJob(id)), ifNotExists: false });
      await runAttempt(store, 'j1', ok, next('completed'));
      const ids = async (params: Parameters<Store['listJobs']>[0]) => (await store.listJobs(params)).map((job) => job.id);
      assert.deepEqual(await ids({ limit: 10 }), ['j4', 'j3', 'j2', 'j1']);
      assert.deepEqual(await ids({ states: ['completed', 'pending'], limit: 10 }), ['j4', 'j3', 'j2', 'j1']);
      assert.deepEqual(await ids({ states: ['pending', 'completed'], limit: 2 }), ['j4', 'j3']);
      assert.deepEqual(await ids({ states: ['completed'], limit: 10 }), ['j1']);
      assert.deepEqual(await ids({ states: ['dead'], limit: 10 }), []);
    });

    it('nextRunAt is null when nothing is scheduled for later', async ({ store }) => {
      assert.equal(await store.nextRunAt({ queues: null }), null);
      await store.enqueue({ jobs: [newJob('now')], ifNotExists: false });
      assert.equal(await store.nextRunAt({ queues: null }), null, 'a job due now is not "later"');
    });
  });
}
