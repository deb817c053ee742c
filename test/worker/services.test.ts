import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock';
import { resolveConfig, type Config } from '../../src/core/config';
import type { NewJob } from '../../src/core/job-spec';
import type { EndedJob, Store } from '../../src/store/store';
import { ConfigRefresh } from '../../src/worker/services/config-refresh';
import { FinishHookTaker } from '../../src/worker/services/finish-hooks';
import { GoneWorkerCleaner } from '../../src/worker/services/gone-workers';
import { LostJobReaper } from '../../src/worker/services/lost-jobs';
import { ServiceSchedule, type WorkerService } from '../../src/worker/services/service';
import { tempSqliteStore, type TempStore } from '../support/temp-store';

const newJob = (id: string): NewJob => ({ id, command: 'true', maxRetries: 2, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [], queue: 'default' });
const never = () => 60_000;

describe('ServiceSchedule', () => {
  it('runs each service when due, by its own period, and keeps a failing one scheduled', async () => {
    const clock = new ManualClock();
    const runs: string[] = [];
    const errors: string[] = [];
    const service = (name: string, periodMs: number, fail = false): WorkerService => ({
      name,
      periodMs: () => periodMs,
      runOnce: async () => {
        runs.push(name);
        if (fail) throw new Error(`${name} broke`);
      },
    });
    const schedule = new ServiceSchedule([service('fast', 100), service('slow', 500), service('broken', 100, true)], (s, err) => errors.push(`${s.name}: ${(err as Error).message}`), clock);
    await schedule.runDue();
    assert.deepEqual(runs.splice(0), ['fast', 'slow', 'broken'], 'all are due the first time');
    await schedule.runDue();
    assert.deepEqual(runs.splice(0), [], 'nothing is due again before its period');
    clock.advance(100);
    await schedule.runDue();
    assert.deepEqual(runs.splice(0), ['fast', 'broken']);
    clock.advance(400);
    await schedule.runDue();
    assert.deepEqual(runs.splice(0), ['fast', 'slow', 'broken']);
    assert.deepEqual(errors, ['broken: broken broke', 'broken: broken broke', 'broken: broken broke']);
  });
});

describe('worker services', () => {
  let clock: ManualClock;
  let temp: TempStore;
  let store: Store;
  const config: Config = resolveConfig({});
  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    temp = await tempSqliteStore({ clock });
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  const reaper = (inHand: string | null, log: string[] = []) =>
    new LostJobReaper({
      store, host: 'h', selfId: 'me', inHand: (jobId) => jobId === inHand, config: () => config, periodMs: never,
      log: (line) => log.push(line), onJobEnded: () => undefined, onRecovered: () => undefined,
    });

  it('the reaper takes an expired lease of its own worker once that job is no longer in hand', async () => {
    await store.registerWorker({ worker: { id: 'me', host: 'h', pid: process.pid, pidStart: null }, concurrency: 2, queues: null });
    await store.enqueue({ jobs: [newJob('dropped'), newJob('held')], ifNotExists: false });
    await store.claim({ workerId: 'me', host: 'h', leaseMs: 1000, limit: 2, queues: null });

    await reaper('held').runOnce();
    assert.deepEqual((await store.listLeases()).map((lease) => lease.jobId), ['dropped', 'held'], 'a live lease of our own is left alone');

    clock.advance(1001);
    const log: string[] = [];
    await reaper('held', log).runOnce();
    assert.deepEqual((await store.listLeases()).map((lease) => lease.jobId), ['held'], 'the job in hand is ours to renew, expired or not');
    const dropped = await store.getJob({ id: 'dropped' });
    assert.deepEqual([dropped?.state, dropped?.attempts], ['failed', 1]);
    assert.deepEqual((await store.listAttempts({ jobId: 'dropped' })).map((a) => a.outcome), ['worker_lost']);
    assert.match(log.join('\n'), /recovered job dropped \(worker lost: lease of me expired\)/);
  });

  it('finish hooks: hands over each job that ended with no worker to report it, once', async () => {
    await store.enqueue({ jobs: [newJob('a'), newJob('b')], ifNotExists: false });
    await store.cancel({ ids: ['a'], signal: 'SIGTERM' });
    const ended: EndedJob[] = [];
    const taker = new FinishHookTaker({ store, onJobEnded: (job) => ended.push(job), periodMs: never });
    await taker.runOnce();
    await taker.runOnce();
    assert.deepEqual(ended, [{ jobId: 'a', state: 'cancelled', exitCode: null }]);
  });

  it('config refresh: hands over the stored config, resolved', async () => {
    await store.setConfig({ key: 'lease-timeout', value: '7' });
    let seen: Config | null = null;
    await new ConfigRefresh({ store, onConfig: (c) => (seen = c), periodMs: never }).runOnce();
    assert.equal(seen!['lease-timeout'], 7);
  });

  it('gone workers: removes a registration whose heartbeat is stale, keeps a fresh one', async () => {
    await store.registerWorker({ worker: { id: 'stale', host: 'elsewhere', pid: 1, pidStart: null }, concurrency: 1, queues: null });
    clock.advance(5000);
    await store.registerWorker({ worker: { id: 'fresh', host: 'elsewhere', pid: 2, pidStart: null }, concurrency: 1, queues: null });
    await new GoneWorkerCleaner({ store, host: 'h', staleAfterMs: () => 3000, periodMs: never }).runOnce();
    assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => w.id), ['fresh']);
  });
});
