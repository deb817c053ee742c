import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Client } from 'pg';
import { StoreUnavailableError } from '../../src/core/errors';
import type { NewJob } from '../../src/core/job-spec';
import type { Store } from '../../src/store/store';
import { pgSkipReason, TEST_PG_URL, tempPostgresStore } from '../support/temp-postgres';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

const newJob = (id: string): NewJob => ({ id, command: 'true', queue: 'default', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [] });

/** Runs `call`, which must fail with StoreUnavailableError; returns how long it took. */
async function timedFailure(call: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await assert.rejects(call(), (err: unknown) => err instanceof StoreUnavailableError);
  return Date.now() - started;
}

/**
 * Store.setCallDeadline: a call that would wait on a lock held elsewhere fails in about the deadline with
 * StoreUnavailableError (which a worker rides out), and the store works again once the lock is gone.
 */
describe('store call deadline (sqlite)', () => {
  let temp: TempStore;
  let store: Store;
  beforeEach(async () => {
    temp = await tempSqliteStore();
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  it('a write that waits for another process\'s lock gives up at the deadline', async () => {
    await store.registerWorker({ worker: { id: 'w1', host: 'h', pid: 1, pidStart: null }, concurrency: 1, queues: null });
    const other = new Database(temp.location);
    try {
      other.prepare('BEGIN IMMEDIATE').run();
      store.setCallDeadline({ ms: 300 });
      const took = await timedFailure(() => store.heartbeat({ workerId: 'w1', state: 'idle', jobIds: [], leaseMs: 1000 }));
      assert.ok(took >= 250 && took < 1500, `gave up after ${took} ms`);
      other.prepare('ROLLBACK').run();
      assert.equal((await store.heartbeat({ workerId: 'w1', state: 'idle', jobIds: [], leaseMs: 1000 })).registered, true);
    } finally {
      other.close();
    }
  });
});

describe('store call deadline (postgres)', { skip: pgSkipReason() }, () => {
  let temp: TempStore;
  let store: Store;
  let admin: Client;
  beforeEach(async () => {
    temp = await tempPostgresStore();
    store = temp.store;
    admin = new Client({ connectionString: TEST_PG_URL });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    await admin.end();
    await temp.cleanup();
  });

  it('a heartbeat blocked on a row lock fails at the deadline; the lock holder\'s release lets the next one through', async () => {
    await store.registerWorker({ worker: { id: 'w1', host: 'h', pid: 1, pidStart: null }, concurrency: 1, queues: null });
    await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
    await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
    await admin.query('BEGIN');
    await admin.query(`SELECT 1 FROM "${temp.env.QUEUECTL_SCHEMA}".jobs WHERE id = 'a' FOR UPDATE`);
    store.setCallDeadline({ ms: 500 });
    const beat = () => store.heartbeat({ workerId: 'w1', state: 'busy', jobIds: ['a'], leaseMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      const took = await timedFailure(beat);
      assert.ok(took >= 350 && took < 2000, `gave up after ${took} ms`);
    }
    // Calls that need no lock still work meanwhile: no connection is left waiting in the pool. (A deadline far above
    // what the read takes, so a loaded machine cannot make it miss; a connection still waiting would miss it.)
    store.setCallDeadline({ ms: 10_000 });
    assert.equal((await store.listLeases()).length, 1);
    // The server gave up on the abandoned statements too: nothing of ours still waits for the lock.
    const waiting = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'queuectl' AND wait_event_type = 'Lock'`);
    assert.equal(waiting.rows[0].n, 0);
    await admin.query('ROLLBACK');
    assert.deepEqual((await beat()).lost, []);
  });

  it('without a deadline (commands people run) a call waits as long as it takes', async () => {
    await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
    await admin.query('BEGIN');
    await admin.query(`SELECT 1 FROM "${temp.env.QUEUECTL_SCHEMA}".jobs WHERE id = 'a' FOR UPDATE`);
    store.setCallDeadline({ ms: 200 });
    store.setCallDeadline({ ms: null });
    const cancelling = store.cancel({ ids: ['a'], signal: 'SIGTERM' });
    // It waits for the lock, past the old deadline, until the lock is released.
    await waitFor('the cancel to wait for the lock', async () => {
      const waiting = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'queuectl' AND wait_event_type = 'Lock'`);
      return waiting.rows[0].n === 1;
    });
    const until = Date.now() + 400;
    await waitFor('the old deadline to pass', () => Date.now() > until);
    await admin.query('ROLLBACK');
    assert.deepEqual((await cancelling).map((result) => result.action), ['cancelled']);
  });
});
