import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { ConflictError, NotFoundError } from '../../../src/core/errors';
import { ok, exit, next, newJob, zeroCounts, claimNext, runAttempt, errorLike } from './job-builders';
import type { ContractIt } from './store-under-test';

/** What operators do: retry, clear dead jobs, cancel, purge; and the finish hooks of jobs ended without a worker. */
export function operatorContract(it: ContractIt): void {
  describe('operator actions', () => {
    it('retries a dead job: pending again, attempts reset, history kept', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('d', { maxRetries: 0 })], ifNotExists: false });
      await runAttempt(store, 'd', exit(2), next('dead'));
      assert.deepEqual(await store.retryJobs({ ids: ['d'] }), ['d']);
      const job = await store.getJob({ id: 'd' });
      assert.deepEqual([job?.state, job?.attempts, job?.finishedAt, job?.lastError], ['pending', 0, null, null]);
      assert.equal((await store.listAttempts({ jobId: 'd' })).length, 1);
      const again = await claimNext(store);
      assert.deepEqual([again?.job.id, again?.attempt, again?.job.attempts], ['d', 2, 1]);
    });

    it('retries a completed job with includeCompleted: pending again, history kept, the next attempt numbered on', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('c', { priority: 1 }), newJob('d', { maxRetries: 0 })], ifNotExists: false });
      await runAttempt(store, 'c', ok, next('completed'));
      await runAttempt(store, 'd', exit(1), next('dead'));
      assert.deepEqual((await store.retryJobs({ ids: ['c', 'd'], includeCompleted: true })).sort(), ['c', 'd']);
      const job = await store.getJob({ id: 'c' });
      assert.deepEqual([job?.state, job?.attempts, job?.finishedAt, job?.exitCode], ['pending', 0, null, null]);
      assert.deepEqual((await store.listAttempts({ jobId: 'c' })).map((a) => [a.attempt, a.outcome]), [[1, 'exit']]);
      const again = await claimNext(store);
      assert.deepEqual([again?.job.id, again?.attempt], ['c', 2]);
      await assert.rejects(store.retryJobs({ ids: ['c'], includeCompleted: true }), errorLike(ConflictError, /'c'/), 'a processing job is not retried');
    });

    it('refuses to retry a job that is not dead, and unknown ids, changing nothing', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('c', { priority: 1 }), newJob('d')], ifNotExists: false });
      await runAttempt(store, 'c', ok, next('completed'));
      await runAttempt(store, 'd', exit(1), next('dead'));
      await assert.rejects(store.retryJobs({ ids: ['c'] }), errorLike(ConflictError, /'c'/));
      await assert.rejects(store.retryJobs({ ids: ['d', 'nope'] }), errorLike(NotFoundError, /'nope'/));
      assert.equal((await store.getJob({ id: 'd' }))?.state, 'dead');
      assert.equal((await store.getJob({ id: 'c' }))?.state, 'completed');
    });

    it('retries every dead job with allDead', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('d1', { priority: 3 }), newJob('d2', { priority: 2 }), newJob('c', { priority: 1 })], ifNotExists: false });
      await runAttempt(store, 'd1', exit(1), next('dead'));
      await runAttempt(store, 'd2', exit(1), next('dead'));
      await runAttempt(store, 'c', ok, next('completed'));
      assert.deepEqual((await store.retryJobs({ allDead: true })).sort(), ['d1', 'd2']);
      assert.deepEqual((await store.countJobs()).counts, { ...zeroCounts(), pending: 2, completed: 1 });
      assert.deepEqual(await store.retryJobs({ allDead: true }), []);
    });

    it('clears dead jobs with their history', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('d1', { priority: 3 }), newJob('d2', { priority: 2 }), newJob('c', { priority: 1 })], ifNotExists: false });
      for (const id of ['d1', 'd2']) {
        const { attempt } = await runAttempt(store, id, exit(1), next('dead'));
        if (id === 'd1') await store.appendOutput({ jobId: id, attempt, chunks: [{ stream: 'stderr', data: 'late' }], limitBytes: 100 });
      }
      await runAttempt(store, 'c', ok, next('completed'));
      assert.equal(await store.clearDead(), 2);
      assert.equal(await store.getJob({ id: 'd1' }), null);
      assert.deepEqual(await store.listAttempts({ jobId: 'd1' }), []);
      assert.deepEqual(await store.readOutput({ jobId: 'd1', attempt: 1 }), []);
      assert.equal((await store.getJob({ id: 'c' }))?.state, 'completed');
      assert.equal(await store.clearDead(), 0);
    });

    it('cancels waiting, pending and failed jobs at once, and leaves finished ones alone', async ({ store }) => {
      await store.enqueue({
        jobs: [newJob('f', { priority: 2 }), newJob('done', { priority: 1 }), newJob('p'), newJob('w', { dependsOn: ['p'] }), newJob('w2', { dependsOn: ['w'] })],
        ifNotExists: false,
      });
      await runAttempt(store, 'f', exit(1), next('failed', 3_600_000));
      await runAttempt(store, 'done', ok, next('completed'));
      const results = await store.cancel({ ids: ['f', 'w', 'done'], signal: 'SIGTERM' });
      assert.deepEqual(results, [
        { id: 'f', action: 'cancelled', state: 'cancelled' },
        { id: 'w', action: 'cancelled', state: 'cancelled' },
        { id: 'done', action: 'unchanged', state: 'completed' },
      ]);
      assert.equal((await store.getJob({ id: 'w2' }))?.state, 'cancelled', 'dependents of a cancelled job are cancelled');
      assert.deepEqual(await store.cancel({ ids: ['p'], signal: 'SIGTERM' }), [{ id: 'p', action: 'cancelled', state: 'cancelled' }]);
      const p = await store.getJob({ id: 'p' });
      assert.ok(p?.finishedAt !== null);
      assert.equal(await claimNext(store), null);
      assert.deepEqual((await store.countJobs()).counts, { ...zeroCounts(), cancelled: 4, completed: 1 });
    });

    it('records jobs ended without a worker for their finish hook, each taken once', async ({ store }) => {
      await store.enqueue({
        jobs: [newJob('q'), newJob('after-q', { dependsOn: ['q'] }), newJob('root', { priority: 1, maxRetries: 0 }), newJob('after-root', { dependsOn: ['root'] })],
        ifNotExists: false,
      });
      assert.deepEqual(await store.takeFinishHooks({ limit: 10 }), [], 'nothing ended yet');
      await store.cancel({ ids: ['q'], signal: 'SIGTERM' });
      // A job a worker reports is not recorded (its worker runs the hook), but its cancelled dependents are.
      await runAttempt(store, 'root', exit(1), next('dead'));
      const taken = await store.takeFinishHooks({ limit: 10 });
      assert.deepEqual(
        taken.sort((a, b) => a.jobId.localeCompare(b.jobId)),
        ['after-q', 'after-root', 'q'].map((jobId) => ({ jobId, state: 'cancelled', exitCode: null })),
      );
      assert.deepEqual(await store.takeFinishHooks({ limit: 10 }), [], 'each is taken once');
      await store.cancel({ ids: ['q'], signal: 'SIGTERM' });
      assert.deepEqual(await store.takeFinishHooks({ limit: 10 }), [], 'cancelling a cancelled job ends nothing');
    });

    it('cancels nothing when an id is unknown', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('p')], ifNotExists: false });
      await assert.rejects(store.cancel({ ids: ['p', 'nope'], signal: 'SIGTERM' }), errorLike(NotFoundError, /'nope'/));
      assert.equal((await store.getJob({ id: 'p' }))?.state, 'pending');
    });

    it('purges finished jobs by state and age, counting only on a dry run', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('c1', { priority: 3 }), newJob('c2', { priority: 2 }), newJob('d', { priority: 1 }), newJob('p', { delayMs: 3_600_000 })], ifNotExists: false });
      await runAttempt(store, 'c1', ok, next('completed'));
      await runAttempt(store, 'c2', ok, next('completed'));
      await runAttempt(store, 'd', exit(1), next('dead'));

      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 3_600_000, dryRun: false }), 0, 'not old enough');
      assert.equal(await store.purge({ states: ['completed', 'dead'], olderThanMs: 0, dryRun: true }), 3);
      assert.equal((await store.countJobs()).counts.completed, 2, 'a dry run deletes nothing');
      assert.equal(await store.purge({ states: ['pending'], olderThanMs: 0, dryRun: false }), 0, 'unfinished jobs are never purged');

      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 0, dryRun: false, limit: 1 }), 1);
      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 0, dryRun: false }), 1);
      for (const id of ['c1', 'c2']) {
        assert.equal(await store.getJob({ id }), null);
        assert.deepEqual(await store.listAttempts({ jobId: id }), []);
      }
      assert.deepEqual([(await store.getJob({ id: 'd' }))?.state, (await store.getJob({ id: 'p' }))?.state], ['dead', 'pending']);
    });
  });
}
