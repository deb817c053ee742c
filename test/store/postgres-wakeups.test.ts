import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Store } from '../../src/store/store';
import { pgSkipReason, tempPostgresStore } from '../support/temp-postgres';
import type { TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';
import { newJob, next, ok } from './contract/job-builders';

/*
 * Wake-ups and job ends travel on two channels on PostgreSQL: a worker's listener must never run a claim because a job
 * ended somewhere, nor `wait` look again because work arrived. Notifications reach one listening connection in commit
 * order: once the last one it should get has arrived, one sent wrongly to it before would have been counted already.
 */
describe('PostgresStore wake-ups and job ends', { skip: pgSkipReason() }, () => {
  let temp: TempStore;
  let store: Store;
  beforeEach(async () => {
    temp = await tempPostgresStore();
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  it('a job\'s end does not wake workers\' subscribers; a wake-up after it does, once', async () => {
    await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
    let wakes = 0;
    let ends = 0;
    const unsubscribe = await store.subscribe(() => wakes++);
    const unsubscribeEnds = await store.subscribeToEnds(() => ends++);
    try {
      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed!.attempt, result: ok, next: next('completed') }), true);
      await store.notify();
      await waitFor('the wake-up', () => wakes > 0);
      assert.equal(wakes, 1, 'the end came first and woke no worker');
      await waitFor('the end to be told', () => ends === 1);
    } finally {
      await unsubscribe();
      await unsubscribeEnds();
    }
  });

  it('a wake-up does not reach the subscribers of ends; a cancel of a queued job after it does, once', async () => {
    await store.enqueue({ jobs: [newJob('queued', { delayMs: 3_600_000 })], ifNotExists: false });
    let ends = 0;
    const unsubscribeEnds = await store.subscribeToEnds(() => ends++);
    try {
      await store.notify();
      await store.enqueue({ jobs: [newJob('more')], ifNotExists: false });
      assert.deepEqual((await store.cancel({ ids: ['queued'], signal: 'SIGTERM' })).map((result) => result.action), ['cancelled']);
      await waitFor('the cancel to be told', () => ends > 0);
      assert.equal(ends, 1, 'the wake-ups came first and were not told as ends');
    } finally {
      await unsubscribeEnds();
    }
  });
});
