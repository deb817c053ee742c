import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { AttemptResult } from '../../../src/core/transitions';
import { ok, next, newJob, claimNext, registerWorker } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Leases: renewed by heartbeats, lost to a reaper, carrying a cancel, listed for the reaper. */
export function leasesContract(it: ContractIt): void {
  describe('leases', () => {
    it('renews the lease on heartbeat while the worker holds the job', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      await claimNext(store, 'w1', 50);
      const before = await store.now();
      const reply = await store.heartbeat({ workerId: 'w1', state: 'busy', jobIds: ['a'], leaseMs: 60_000 });
      assert.deepEqual(reply, { stopRequest: null, lost: [], cancels: [], registered: false });
      assert.ok((await store.getJob({ id: 'a' }))!.leaseExpiresAt! >= before + 60_000);
      assert.equal((await store.listLeases())[0]?.leaseExpired, false);
    });

    it('renews every lease asked in one heartbeat, and reports the lost ones and the cancels', async ({ store }) => {
      await store.enqueue({ jobs: ['a', 'b', 'c', 'd'].map((id) => newJob(id)), ifNotExists: false });
      const claimed = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 50, limit: 4, queues: null });
      assert.deepEqual(claimed.map((c) => c.job.id), ['a', 'b', 'c', 'd']);
      // b is taken away (a reaper recovered it and w2 runs it), d ended, c is cancelled.
      const lost: AttemptResult = { outcome: 'worker_lost', exitCode: null, signal: null, error: 'worker lost' };
      assert.equal(await store.finishAttempt({ jobId: 'b', workerId: 'w1', attempt: 1, result: lost, next: next('failed', 0) }), true);
      assert.equal((await claimNext(store, 'w2', 50))?.job.id, 'b');
      assert.equal(await store.finishAttempt({ jobId: 'd', workerId: 'w1', attempt: 1, result: ok, next: next('completed') }), true);
      await store.cancel({ ids: ['c'], signal: 'SIGTERM' });
      const before = await store.now();
      const reply = await store.heartbeat({ workerId: 'w1', state: 'busy', jobIds: ['a', 'b', 'c', 'd', 'unknown'], leaseMs: 60_000 });
      assert.deepEqual([reply.lost.sort(), reply.cancels, reply.registered], [['b', 'd', 'unknown'], [{ jobId: 'c', signal: 'SIGTERM' }], false]);
      for (const id of ['a', 'c']) assert.ok((await store.getJob({ id }))!.leaseExpiresAt! >= before + 60_000, `${id}'s lease renewed`);
      assert.ok((await store.getJob({ id: 'b' }))!.leaseExpiresAt! < before + 60_000, "w2's lease is not w1's to renew");
      assert.deepEqual((await store.getJob({ id: 'd' }))?.leaseExpiresAt, null);
    });

    it('tells a worker its lease is gone once the job was taken from it', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const first = await claimNext(store, 'w1');
      // What a reaper does once w1's lease expires: end the attempt as lost, for w1.
      const lost: AttemptResult = { outcome: 'worker_lost', exitCode: null, signal: null, error: 'worker lost' };
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: first!.attempt, result: lost, next: next('failed', 0) }), true);
      const second = await claimNext(store, 'w2');
      assert.equal(second?.job.id, 'a');
      const stale = await store.heartbeat({ workerId: 'w1', state: 'busy', jobIds: ['a'], leaseMs: 60_000 });
      assert.deepEqual(stale.lost, ['a']);
      assert.deepEqual((await store.heartbeat({ workerId: 'w2', state: 'busy', jobIds: ['a'], leaseMs: 60_000 })).lost, []);
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: first!.attempt, result: ok, next: next('completed') }), false);
      const job = await store.getJob({ id: 'a' });
      assert.deepEqual([job?.state, job?.workerId], ['processing', 'w2']);
      assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => a.outcome), ['worker_lost', null]);
    });

    it('passes a cancel of a processing job to its worker through the heartbeat', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a'), newJob('b', { dependsOn: ['a'] })], ifNotExists: false });
      const claimed = await claimNext(store, 'w1');
      assert.deepEqual(await store.cancel({ ids: ['a'], signal: 'SIGINT' }), [{ id: 'a', action: 'signalled', state: 'processing' }]);
      const job = await store.getJob({ id: 'a' });
      assert.deepEqual([job?.state, job?.cancelSignal], ['processing', 'SIGINT']);
      assert.deepEqual(await store.heartbeat({ workerId: 'w1', state: 'busy', jobIds: ['a'], leaseMs: 60_000 }), {
        stopRequest: null, lost: [], cancels: [{ jobId: 'a', signal: 'SIGINT' }], registered: false,
      });
      const result: AttemptResult = { outcome: 'cancelled', exitCode: null, signal: 'SIGINT', error: 'cancelled' };
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed!.attempt, result, next: next('cancelled') }), true);
      assert.deepEqual([(await store.getJob({ id: 'a' }))?.state, (await store.getJob({ id: 'b' }))?.state], ['cancelled', 'cancelled']);
    });

    it('lists leases with what a reaper needs, expired after a short lease', async ({ store, elapse }) => {
      await registerWorker(store, 'w1', 'host-1', 99, 'start-99');
      await store.enqueue({ jobs: [newJob('a', { maxRetries: 4 }), newJob('idle')], ifNotExists: false });
      const [claimed] = await store.claim({ workerId: 'w1', host: 'host-1', leaseMs: 50, limit: 1, queues: null });
      assert.equal(claimed?.job.id, 'a');
      await store.recordAttemptProcess({ jobId: 'a', attempt: claimed.attempt, workerId: 'w1', pid: 4321, pidStart: 'start-4321' });
      await elapse(51);
      const [lease] = await store.listLeases();
      assert.deepEqual(lease, {
        jobId: 'a', attempt: 1, workerId: 'w1', attempts: 1, maxRetries: 4, leaseExpired: true, host: 'host-1', pid: 4321,
        pidStart: 'start-4321', worker: { host: 'host-1', pid: 99, pidStart: 'start-99' },
      });
      const [attempt] = await store.listAttempts({ jobId: 'a' });
      assert.deepEqual([attempt?.pid, attempt?.pidStart], [4321, 'start-4321']);

      await store.removeWorker({ workerId: 'w1' });
      assert.deepEqual((await store.listLeases()).map((l) => [l.jobId, l.worker]), [['a', null]]);
      await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: 1, result: ok, next: next('completed') });
      assert.deepEqual(await store.listLeases(), []);
    });
  });
}
