import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ClaimedJob, Store } from '../../src/store/store';
import { Client } from 'pg';
import { pgSkipReason, tempPostgresStore, TEST_PG_URL } from '../support/temp-postgres';
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
    const unsubscribeEnds = await store.subscribeToEnds({ jobIds: ['a'], onEnd: () => ends++ });
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

  it('announces only the ends of jobs someone waits for, once per write however many ended in it', async () => {
    await store.enqueue({ jobs: ['unwatched', 'w1', 'w2', 'w3'].map((id) => newJob(id)), ifNotExists: false });
    // What goes out on the ends' channel, read on a connection of our own; a notification we send last marks the end
    // of it (one connection receives in commit order), so nothing is waited for by the clock.
    const told: string[] = [];
    const listener = new Client({ connectionString: TEST_PG_URL });
    await listener.connect();
    listener.on('notification', (message) => told.push(message.payload ?? ''));
    const channel = `qc_ended_${temp.env.QUEUECTL_SCHEMA}`;
    await listener.query(`LISTEN "${channel}"`);
    const unsubscribeEnds = await store.subscribeToEnds({ jobIds: ['w1', 'w2', 'w3'], onEnd: () => {} });
    const claim = { workerId: 'w', host: 'h', leaseMs: 60_000, limit: 1, queues: null };
    const finish = (job: ClaimedJob) => ({ jobId: job.job.id, workerId: 'w', attempt: job.attempt, result: ok, next: next('completed') });
    try {
      const [unwatched] = await store.claim(claim);
      assert.equal(unwatched?.job.id, 'unwatched');
      const first = await store.finishAndClaim({ finishes: [finish(unwatched)], claim });
      assert.deepEqual(first.finished, [true]);
      const rest = [...first.next, ...(await store.claim({ ...claim, limit: 2 }))];
      assert.deepEqual(rest.map((job) => job.job.id), ['w1', 'w2', 'w3']);
      assert.deepEqual((await store.finishAndClaim({ finishes: [finish(rest[0]!), finish(rest[1]!)], claim })).finished, [true, true]);
      assert.equal(await store.finishAttempt(finish(rest[2]!)), true);
      await listener.query(`SELECT pg_notify($1, 'last')`, [channel]);
      await waitFor('our last notification', () => told.includes('last'));
      assert.deepEqual(told, ['', '', 'last'], 'the unwatched end untold; the two ends of one write told once; the last end told');
    } finally {
      await unsubscribeEnds();
      await listener.end();
    }
  });

  it('a wake-up does not reach the subscribers of ends; a cancel of a queued job after it does, once', async () => {
    await store.enqueue({ jobs: [newJob('queued', { delayMs: 3_600_000 })], ifNotExists: false });
    let ends = 0;
    const unsubscribeEnds = await store.subscribeToEnds({ jobIds: ['queued'], onEnd: () => ends++ });
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
