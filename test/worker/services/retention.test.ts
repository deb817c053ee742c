import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import type { Store } from '../../../src/store/store';
import { RETENTION_BATCH, retentionIntervalMs, RetentionSweeper } from '../../../src/worker/services/retention';
import { tempSqliteStore, type TempStore } from '../../support/temp-store';
import { exit, newJob, next, ok, runAttempt } from '../../store/contract/job-builders';

const never = () => 60_000;

describe('retentionIntervalMs', () => {
  it('is a tenth of the retention, at least a second and at most a minute apart', () => {
    assert.equal(retentionIntervalMs(100), 1_000);
    assert.equal(retentionIntervalMs(10_000), 1_000);
    assert.equal(retentionIntervalMs(120_000), 12_000);
    assert.equal(retentionIntervalMs(600_000), 60_000);
    assert.equal(retentionIntervalMs(7 * 86_400_000), 60_000);
  });
});

describe('the retention sweeper, on a manual clock', () => {
  let clock: ManualClock;
  let temp: TempStore;
  let store: Store;
  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    temp = await tempSqliteStore({ clock });
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  const sweeper = (retentionMs: number | null, log: string[] = []) =>
    new RetentionSweeper({ store, retentionMs: () => retentionMs, periodMs: never, log: (line) => log.push(line), clock });

  it('deletes completed, dead and cancelled jobs past the retention; never unfinished ones', async () => {
    await store.enqueue({
      jobs: [newJob('done', { priority: 2 }), newJob('dead', { priority: 1, maxRetries: 0 }), newJob('off'), newJob('later', { delayMs: 3_600_000 }), newJob('running', { priority: -1 })],
      ifNotExists: false,
    });
    await runAttempt(store, 'done', ok, next('completed'));
    await runAttempt(store, 'dead', exit(1), next('dead'));
    await store.cancel({ ids: ['off'], signal: 'SIGTERM' });
    await store.claim({ workerId: 'w1', host: 'h', leaseMs: 3_600_000, limit: 1, queues: null });
    clock.advance(60_001);
    const log: string[] = [];
    await sweeper(60_000, log).runOnce();
    assert.deepEqual((await store.listJobs({ limit: 10 })).map((job) => [job.id, job.state]).sort(), [['later', 'pending'], ['running', 'processing']]);
    assert.deepEqual(log, ['retention: deleted 3 finished job(s) older than 60s']);
  });

  it('deletes finished jobs older than the retention', async () => {
    await store.enqueue({ jobs: [newJob('old')], ifNotExists: false });
    const [claimed] = await store.claim({ workerId: 'w', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
    const completed = { state: 'completed' as const, retryDelayMs: 0, countsAttempt: true };
    assert.equal(await store.finishAttempt({ jobId: 'old', workerId: 'w', attempt: claimed!.attempt, result: ok, next: completed }), true);
    const log: string[] = [];
    const sweep = sweeper(10_000, log);
    await sweep.runOnce();
    assert.ok(await store.getJob({ id: 'old' }), 'not old enough yet');
    clock.advance(10_001);
    await sweep.runOnce();
    assert.equal(await store.getJob({ id: 'old' }), null);
    assert.deepEqual(log, ['retention: deleted 1 finished job(s) older than 10s']);
  });

  it('does nothing without a retention, and logs nothing when nothing was old enough', async () => {
    await store.enqueue({ jobs: [newJob('done')], ifNotExists: false });
    await runAttempt(store, 'done', ok, next('completed'));
    clock.advance(86_400_000);
    const log: string[] = [];
    await sweeper(null, log).runOnce();
    assert.equal((await store.getJob({ id: 'done' }))?.state, 'completed');
    await sweeper(2 * 86_400_000, log).runOnce();
    assert.equal((await store.getJob({ id: 'done' }))?.state, 'completed');
    assert.deepEqual(log, []);
  });

  it('sweeps no sooner than its interval (a tenth of the retention), however often it runs', async () => {
    const sweep = sweeper(10_000);
    await store.enqueue({ jobs: [newJob('done')], ifNotExists: false });
    await runAttempt(store, 'done', ok, next('completed'));
    clock.advance(9_500);
    await sweep.runOnce();
    assert.ok(await store.getJob({ id: 'done' }), 'swept, but 9.5s is not old enough');
    clock.advance(600);
    await sweep.runOnce();
    assert.ok(await store.getJob({ id: 'done' }), 'old enough now, but the last sweep was only 0.6s ago');
    clock.advance(399);
    await sweep.runOnce();
    assert.ok(await store.getJob({ id: 'done' }), 'still within the 1s interval');
    clock.advance(1);
    await sweep.runOnce();
    assert.equal(await store.getJob({ id: 'done' }), null, 'swept once the interval had passed');
  });

  it('sweeps a batch at a time; a full batch makes the next sweep due at once', async () => {
    const ids = Array.from({ length: RETENTION_BATCH + 5 }, (_, i) => `old-${i}`);
    await store.enqueue({ jobs: ids.map((id) => newJob(id)), ifNotExists: false });
    await store.cancel({ ids, signal: 'SIGTERM' });
    clock.advance(600_001);
    const log: string[] = [];
    const sweep = sweeper(600_000, log);
    await sweep.runOnce();
    assert.equal((await store.countJobs()).counts.cancelled, 5, `one batch of ${RETENTION_BATCH}`);
    await sweep.runOnce();
    assert.equal((await store.countJobs()).counts.cancelled, 0, 'the rest on the next tick, not a minute later');
    assert.deepEqual(log, [`retention: deleted ${RETENTION_BATCH} finished job(s) older than 600s`, 'retention: deleted 5 finished job(s) older than 600s']);
  });
});
