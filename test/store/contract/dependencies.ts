import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { UsageError } from '../../../src/core/errors';
import { ok, exit, next, newJob, claimNext, runAttempt, errorLike } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Dependencies: waiting until every dependency completes, cancelled downstream of a dead one, refused unknown ids and cycles. */
export function dependenciesContract(it: ContractIt): void {
  describe('dependencies', () => {
    it('keeps a job waiting until all its dependencies complete', async ({ store }) => {
      const [, , c] = await store.enqueue({ jobs: [newJob('a', { priority: 2 }), newJob('b', { priority: 1 }), newJob('c', { dependsOn: ['a', 'b'] })], ifNotExists: false });
      assert.deepEqual([c?.job.state, c?.job.dependsOn], ['waiting', ['a', 'b']]);
      await runAttempt(store, 'a', ok, next('completed'));
      assert.equal((await store.getJob({ id: 'c' }))?.state, 'waiting');
      await runAttempt(store, 'b', exit(1), next('failed', 0));
      assert.equal((await store.getJob({ id: 'c' }))?.state, 'waiting', 'a failed dependency may still succeed');
      await runAttempt(store, 'b', ok, next('completed'));
      assert.equal((await store.getJob({ id: 'c' }))?.state, 'pending');
      assert.equal((await claimNext(store))?.job.id, 'c');
    });

    it('cancels every job downstream of a dependency that ends dead', async ({ store }) => {
      await store.enqueue({
        jobs: [
          newJob('a', { priority: 1 }),
          newJob('other'),
          newJob('b', { dependsOn: ['a'] }),
          newJob('c', { dependsOn: ['b'] }),
          newJob('d', { dependsOn: ['other', 'c'] }),
        ],
        ifNotExists: false,
      });
      await runAttempt(store, 'a', exit(1), next('dead'));
      for (const id of ['b', 'c', 'd']) {
        const job = await store.getJob({ id });
        assert.equal(job?.state, 'cancelled', `${id} is cancelled`);
        assert.ok(job?.finishedAt !== null);
        assert.match(job?.lastError ?? '', /dependency/);
      }
      assert.match((await store.getJob({ id: 'b' }))?.lastError ?? '', /'a'/);
      assert.equal((await store.getJob({ id: 'other' }))?.state, 'pending');
    });

    it('rejects an unknown dependency with a UsageError, inserting nothing', async ({ store }) => {
      await assert.rejects(
        store.enqueue({ jobs: [newJob('ok'), newJob('bad', { dependsOn: ['missing'] })], ifNotExists: false }),
        errorLike(UsageError, /'missing'/),
      );
      assert.equal(await store.getJob({ id: 'ok' }), null);
    });

    it('rejects a cycle within a batch with a UsageError, inserting nothing', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('root')], ifNotExists: false });
      await assert.rejects(
        store.enqueue({
          jobs: [newJob('x', { dependsOn: ['root', 'z'] }), newJob('y', { dependsOn: ['x'] }), newJob('z', { dependsOn: ['y'] })],
          ifNotExists: false,
        }),
        errorLike(UsageError, /cycle/),
      );
      assert.deepEqual((await store.listJobs({ limit: 10 })).map((job) => job.id), ['root']);
    });

    it('starts a job pending, or cancelled, when its dependencies already ended', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('done', { priority: 2 }), newJob('gone', { priority: 1 }), newJob('off')], ifNotExists: false });
      await runAttempt(store, 'done', ok, next('completed'));
      await runAttempt(store, 'gone', exit(1), next('dead'));
      await store.cancel({ ids: ['off'], signal: 'SIGTERM' });
      const results = await store.enqueue({
        jobs: [newJob('after-done', { dependsOn: ['done'] }), newJob('after-gone', { dependsOn: ['done', 'gone'] }), newJob('after-off', { dependsOn: ['off'] })],
        ifNotExists: false,
      });
      assert.deepEqual(results.map((r) => [r.job.id, r.job.state]), [['after-done', 'pending'], ['after-gone', 'cancelled'], ['after-off', 'cancelled']]);
      const gone = await store.getJob({ id: 'after-gone' });
      assert.match(gone?.lastError ?? '', /'gone'/);
      assert.ok(gone?.finishedAt !== null);
    });
  });
}
