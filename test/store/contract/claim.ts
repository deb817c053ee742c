import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { ClaimedJob, Store } from '../../../src/store/store';
import { newJob, claimNext, claimIds, ok, next } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Claiming: the order, the lease and attempt a claim records, and one job to one claimer however many claim at once. */
export function claimContract(it: ContractIt): void {
  describe('claim', () => {
    it('takes the highest priority, then the earliest runAt, then the oldest', async ({ store }) => {
      const now = await store.now();
      await store.enqueue({
        jobs: [
          newJob('low', { priority: -1 }),
          newJob('fifo-1', { priority: 1 }),
          newJob('fifo-2', { priority: 1 }),
          newJob('high', { priority: 9 }),
          newJob('late', { priority: 5, runAt: now - 1_000 }),
          newJob('early', { priority: 5, runAt: now - 2_000 }),
          newJob('fifo-3', { priority: 1 }),
        ],
        ifNotExists: false,
      });
      await store.enqueue({ jobs: [newJob('fifo-4', { priority: 1 })], ifNotExists: false });
      const order: string[] = [];
      for (let claimed = await claimNext(store); claimed; claimed = await claimNext(store)) order.push(claimed.job.id);
      assert.deepEqual(order, ['high', 'early', 'late', 'fifo-1', 'fifo-2', 'fifo-3', 'fifo-4', 'low']);
    });

    it('marks the job processing under the worker with a lease, and records the attempt', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const before = await store.now();
      const [claimed] = await store.claim({ workerId: 'w1', host: 'host-1', leaseMs: 60_000, limit: 1, queues: null });
      const after = await store.now();
      assert.ok(claimed);
      assert.equal(claimed.attempt, 1);
      const { job } = claimed;
      assert.deepEqual([job.id, job.state, job.workerId, job.attempts], ['a', 'processing', 'w1', 1]);
      assert.ok(job.leaseExpiresAt !== null && job.leaseExpiresAt >= before + 60_000 && job.leaseExpiresAt <= after + 60_000);
      assert.deepEqual(await store.getJob({ id: 'a' }), job);
      const [attempt, ...more] = await store.listAttempts({ jobId: 'a' });
      assert.equal(more.length, 0);
      assert.ok(attempt);
      assert.deepEqual(
        [attempt.jobId, attempt.attempt, attempt.workerId, attempt.host, attempt.finishedAt, attempt.outcome, attempt.outputBytes, attempt.outputTruncated],
        ['a', 1, 'w1', 'host-1', null, null, 0, false],
      );
      assert.ok(attempt.startedAt >= before && attempt.startedAt <= after);
    });

    it('returns nothing when nothing is claimable', async ({ store }) => {
      assert.equal(await claimNext(store), null, 'empty store');
      await store.enqueue({ jobs: [newJob('running'), newJob('blocked', { dependsOn: ['running'] })], ifNotExists: false });
      assert.ok(await claimNext(store));
      assert.equal(await claimNext(store), null, 'a processing job and a waiting one are not claimable');
    });

    it('takes up to `limit` jobs in one claim, in claim order across queues, each with its attempt recorded', async ({ store }) => {
      await store.enqueue({
        jobs: [
          newJob('a-low', { queue: 'a', priority: -1 }),
          newJob('b-high', { queue: 'b', priority: 9 }),
          newJob('a-mid', { queue: 'a', priority: 5 }),
          newJob('c-mid', { queue: 'c', priority: 5 }),
          newJob('b-zero', { queue: 'b' }),
        ],
        ifNotExists: false,
      });
      const first = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 3, queues: null });
      assert.deepEqual(first.map((c) => [c.job.id, c.job.state, c.job.workerId, c.attempt]), [
        ['b-high', 'processing', 'w1', 1],
        ['a-mid', 'processing', 'w1', 1],
        ['c-mid', 'processing', 'w1', 1],
      ]);
      for (const claimed of first) assert.deepEqual(await store.getJob({ id: claimed.job.id }), claimed.job);
      for (const claimed of first) assert.deepEqual((await store.listAttempts({ jobId: claimed.job.id })).map((a) => [a.attempt, a.workerId, a.outcome]), [[1, 'w1', null]]);
      assert.deepEqual(await claimIds(store, 10, ['a']), ['a-low'], 'only the queue asked');
      assert.deepEqual(await claimIds(store, 10), ['b-zero'], 'fewer than the limit when fewer are due');
      assert.deepEqual(await claimIds(store, 10), []);
    });

    it('finishAndClaim takes several jobs after its report', async ({ store }) => {
      await store.enqueue({ jobs: ['a', 'b', 'c', 'd'].map((id) => newJob(id)), ifNotExists: false });
      const [a] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
      const finish = { jobId: 'a', workerId: 'w1', attempt: a!.attempt, result: ok, next: next('completed') };
      const reported = await store.finishAndClaim({ finishes: [finish], claim: { workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 2, queues: null } });
      assert.deepEqual([reported.finished, reported.next.map((c) => [c.job.id, c.attempt])], [[true], [['b', 1], ['c', 1]]]);
      const other = await store.finishAndClaim({ finishes: [{ ...finish, jobId: 'b' }], claim: { workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 5, queues: ['other'] } });
      assert.deepEqual(other, { finished: [true], next: [] }, 'the claim honours its queues');
    });

    it('never hands the same job to two concurrent claims', async ({ store }) => {
      const ids = Array.from({ length: 20 }, (_, i) => `job-${i}`);
      await store.enqueue({ jobs: ids.map((id) => newJob(id)), ifNotExists: false });
      const claims = await Promise.all(
        Array.from({ length: 30 }, (_, i) => store.claim({ workerId: `w${i}`, host: 'h', leaseMs: 60_000, limit: 1, queues: null })),
      );
      const won = claims.flat();
      assert.ok(claims.every((claimed) => claimed.length <= 1));
      assert.equal(won.length, 20);
      assert.deepEqual(won.map((c) => c.job.id).sort(), [...ids].sort());
      for (const claim of won) assert.equal((await store.getJob({ id: claim.job.id }))?.workerId, claim.job.workerId);
    });

    it('8 claimers on separate connections claim each of 500 jobs exactly once', async ({ store, connect }) => {
      const stores = [store, ...(await Promise.all(Array.from({ length: 7 }, () => connect())))];
      const ids = Array.from({ length: 500 }, (_, i) => `job-${i}`);
      await store.enqueue({ jobs: ids.map((id) => newJob(id)), ifNotExists: false });
      const drain = async (claimer: Store, workerId: string): Promise<string[]> => {
        const claimed: string[] = [];
        for (let c: ClaimedJob[]; (c = await claimer.claim({ workerId, host: 'h', leaseMs: 60_000, limit: 1, queues: null })).length > 0; ) claimed.push(c[0]!.job.id);
        return claimed;
      };
      const perStore = await Promise.all(stores.map((claimer, i) => drain(claimer, `w${i}`)));
      assertClaimedOnce(perStore, ids);
      assert.ok(perStore.filter((claimed) => claimed.length > 0).length > 1, 'the claims interleaved between connections');
      const attempts = await Promise.all(ids.map((jobId) => store.listAttempts({ jobId })));
      assert.ok(attempts.every((list) => list.length === 1), 'one attempt row per claim');
    });

    it('4 claimers on separate connections taking up to 5 at a time claim each of 300 jobs exactly once', async ({ store, connect }) => {
      const stores = [store, ...(await Promise.all(Array.from({ length: 3 }, () => connect())))];
      const ids = Array.from({ length: 300 }, (_, i) => `job-${i}`);
      await store.enqueue({ jobs: ids.map((id, i) => newJob(id, { queue: `q${i % 3}`, priority: i % 4 })), ifNotExists: false });
      const drain = async (claimer: Store, workerId: string, limit: number): Promise<string[]> => {
        const claimed: string[] = [];
        for (let c: ClaimedJob[]; (c = await claimer.claim({ workerId, host: 'h', leaseMs: 60_000, limit, queues: null })).length > 0; ) {
          assert.ok(c.length <= limit);
          claimed.push(...c.map((one) => one.job.id));
        }
        return claimed;
      };
      assertClaimedOnce(await Promise.all(stores.map((claimer, i) => drain(claimer, `w${i}`, 2 + i))), ids);
    });
  });
}

/** Asserts that every one of `ids` was claimed, and none twice, across the claimers' lists. */
export function assertClaimedOnce(claimedBy: string[][], ids: string[]): void {
  const all = claimedBy.flat();
  assert.equal(new Set(all).size, all.length, 'no job claimed twice');
  assert.deepEqual(all.sort(), [...ids].sort(), 'every job claimed');
}
