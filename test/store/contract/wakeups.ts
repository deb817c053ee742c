import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { waitFor } from '../../support/wait-for';
import { claimNext, exit, newJob, next, ok, registerWorker } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Wake-ups: notify reaches subscribers; a job's end reaches the subscribers of ends. */
export function wakeupsContract(it: ContractIt): void {
  describe('wake-ups', () => {
    it('wakes subscribers on notify', async ({ store }) => {
      let wakes = 0;
      const unsubscribe = await store.subscribe(() => {
        wakes++;
      });
      try {
        await store.notify();
        await waitFor('the subscriber to be woken', () => wakes > 0);
      } finally {
        await unsubscribe();
      }
    });

    it('tells the subscribers of ends when a job completes, dies, or is cancelled while queued', async ({ store }) => {
      await registerWorker(store, 'w1');
      await store.enqueue({ jobs: [newJob('done'), newJob('dies', { maxRetries: 0 }), newJob('queued', { delayMs: 3_600_000 })], ifNotExists: false });
      let ends = 0;
      const unsubscribe = await store.subscribeToEnds({
        jobIds: ['done', 'dies', 'queued'],
        onEnd: () => {
          ends++;
        },
      });
      try {
        const first = await claimNext(store);
        assert.equal(first?.job.id, 'done');
        await store.finishAttempt({ jobId: 'done', workerId: 'w1', attempt: first.attempt, result: ok, next: next('completed') });
        await waitFor('a completion to be told', () => ends >= 1);
        const seen = ends;
        const second = await claimNext(store);
        assert.equal(second?.job.id, 'dies');
        await store.finishAndClaim({
          finishes: [{ jobId: 'dies', workerId: 'w1', attempt: second.attempt, result: exit(1), next: next('dead') }],
          claim: { workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null },
        });
        await waitFor('a death to be told', () => ends > seen);
        const before = ends;
        await store.cancel({ ids: ['queued'], signal: 'SIGTERM' });
        await waitFor('a cancel of a queued job to be told', () => ends > before);
      } finally {
        await unsubscribe();
      }
    });
  });
}
