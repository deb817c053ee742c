import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { ok, next, newJob, registerWorker } from './job-builders';
import type { ContractIt } from './store-under-test';

/** The worker registry: registration, heartbeats, staleness, stop requests. */
export function workersContract(it: ContractIt): void {
  describe('workers', () => {
    it('registers, heartbeats, lists and removes workers', async ({ store }) => {
      const before = await store.now();
      await store.registerWorker({ worker: { id: 'w1', host: 'host-1', pid: 4242, pidStart: '12345' }, concurrency: 1, queues: null });
      const [record, ...others] = await store.listWorkers({ staleAfterMs: 60_000 });
      assert.equal(others.length, 0);
      assert.ok(record);
      assert.deepEqual(
        [record.id, record.host, record.pid, record.pidStart, record.state, record.runningJobs, record.concurrency, record.queues, record.stopRequest, record.heartbeatExpired],
        ['w1', 'host-1', 4242, '12345', 'idle', [], 1, null, null, false],
      );
      assert.ok(record.startedAt >= before && record.lastHeartbeat >= record.startedAt);

      const reply = await store.heartbeat({ workerId: 'w1', state: 'idle', jobIds: [], leaseMs: 60_000 });
      assert.deepEqual(reply, { stopRequest: null, lost: [], cancels: [], registered: true });
      const [beat] = await store.listWorkers({ staleAfterMs: 60_000 });
      assert.ok(beat && beat.lastHeartbeat >= record.lastHeartbeat);

      // Busy and its job come from the job the worker holds, from its claim until its finish.
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const [claimed] = await store.claim({ workerId: 'w1', host: 'host-1', leaseMs: 60_000, limit: 1, queues: null });
      const busy = (await store.listWorkers({ staleAfterMs: 60_000 }))[0];
      assert.deepEqual([busy?.state, busy?.runningJobs], ['busy', ['a']]);
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed!.attempt, result: ok, next: next('completed') }), true);
      const idle = (await store.listWorkers({ staleAfterMs: 60_000 }))[0];
      assert.deepEqual([idle?.state, idle?.runningJobs], ['idle', []]);

      await registerWorker(store, 'w2', 'host-2');
      await store.removeWorker({ workerId: 'w1' });
      assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => [w.id, w.pidStart]), [['w2', null]]);
      // A worker whose row peers removed learns it from its heartbeat, which writes no row.
      assert.equal((await store.heartbeat({ workerId: 'w1', state: 'idle', jobIds: [], leaseMs: 60_000 })).registered, false);
      assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => w.id), ['w2']);
    });

    it('stores a worker\'s slots and queues, and lists every job it runs, oldest claim first', async ({ store, elapse }) => {
      await store.registerWorker({ worker: { id: 'w1', host: 'h', pid: 7, pidStart: null }, concurrency: 4, queues: ['email', 'video'] });
      await store.enqueue({ jobs: [newJob('first', { queue: 'email' }), newJob('second', { queue: 'video', priority: 1 }), newJob('third', { queue: 'email' })], ifNotExists: false });
      assert.deepEqual((await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: ['email'] })).map((c) => c.job.id), ['first']);
      await elapse(2);
      assert.deepEqual((await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 2, queues: ['email', 'video'] })).map((c) => c.job.id), ['second', 'third']);
      const [busy] = await store.listWorkers({ staleAfterMs: 60_000 });
      assert.deepEqual([busy?.state, busy?.runningJobs.slice(0, 1), busy?.runningJobs.slice(1).sort(), busy?.concurrency, busy?.queues], ['busy', ['first'], ['second', 'third'], 4, ['email', 'video']]);
      // Registering again (a restart with other settings) updates them.
      await store.registerWorker({ worker: { id: 'w1', host: 'h', pid: 7, pidStart: null }, concurrency: 8, queues: null });
      const [again] = await store.listWorkers({ staleAfterMs: 60_000 });
      assert.deepEqual([again?.concurrency, again?.queues, again?.runningJobs.length], [8, null, 3]);
    });

    it('flags a worker whose last heartbeat is older than staleAfterMs', async ({ store, elapse }) => {
      await registerWorker(store, 'w1');
      await elapse(21);
      assert.equal((await store.listWorkers({ staleAfterMs: 20 }))[0]?.heartbeatExpired, true, 'older than 20ms');
      await store.heartbeat({ workerId: 'w1', state: 'idle', jobIds: [], leaseMs: 1_000 });
      assert.equal((await store.listWorkers({ staleAfterMs: 60_000 }))[0]?.heartbeatExpired, false);
    });

    it('asks workers to stop, by host, and says so in their heartbeat', async ({ store }) => {
      for (const [id, host] of [['w1', 'h1'], ['w2', 'h1'], ['w3', 'h2']] as const) {
        await registerWorker(store, id, host);
      }
      assert.deepEqual((await store.requestStop({ mode: 'graceful', host: 'h1' })).sort(), ['w1', 'w2']);
      const beat = (id: string) => store.heartbeat({ workerId: id, state: 'idle', jobIds: [], leaseMs: 1_000 });
      assert.equal((await beat('w1')).stopRequest, 'graceful');
      assert.equal((await beat('w3')).stopRequest, null);
      const listed = await store.listWorkers({ staleAfterMs: 60_000 });
      assert.deepEqual(listed.map((w) => [w.id, w.stopRequest]).sort(), [['w1', 'graceful'], ['w2', 'graceful'], ['w3', null]]);

      assert.deepEqual((await store.requestStop({ mode: 'kill' })).sort(), ['w1', 'w2', 'w3']);
      await store.requestStop({ mode: 'graceful' });
      assert.equal((await beat('w2')).stopRequest, 'kill', 'a graceful request never softens a kill');
    });
  });
}
