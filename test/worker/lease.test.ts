import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock';
import type { NewJob } from '../../src/core/job-spec';
import type { Store } from '../../src/store/store';
import { callDeadlineMs, Heartbeat, killMarginMs, LeaseWatchdog } from '../../src/worker/lease';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

const newJob = (id: string): NewJob => ({ id, command: 'true', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [], queue: 'default' });

describe('lease timing', () => {
  it('bounds store calls to a third of the lease, within 250 ms and 10 s', () => {
    assert.deepEqual([1000, 3000, 30_000, 600_000].map(callDeadlineMs), [333, 1000, 10_000, 10_000]);
    assert.equal(callDeadlineMs(600), 250);
  });

  it('kills a fifth of the lease early, within 100 ms and 2 s', () => {
    assert.deepEqual([300, 1000, 3000, 30_000].map(killMarginMs), [100, 200, 600, 2000]);
  });
});

describe('LeaseWatchdog', () => {
  it('fires once, a margin before the lease sent at the claim could lapse', () => {
    const clock = new ManualClock();
    const lapses: string[] = [];
    const watchdog = new LeaseWatchdog({ leaseMs: 3000, sentAt: clock.now(), clock, timer: false, onLapse: (reason) => lapses.push(reason) });
    clock.advance(3000 - killMarginMs(3000) - 1);
    assert.equal(watchdog.check(), false);
    clock.advance(1);
    assert.equal(watchdog.check(), true);
    assert.equal(watchdog.check(), true);
    assert.equal(lapses.length, 1);
    assert.match(lapses[0]!, /last renewed 2\.4s ago/);
  });

  it('counts a renewal from when it was sent, not from when its reply came', () => {
    const clock = new ManualClock();
    let lapsed = 0;
    const watchdog = new LeaseWatchdog({ leaseMs: 3000, sentAt: clock.now(), clock, timer: false, onLapse: () => lapsed++ });
    clock.advance(1000);
    const sentAt = clock.now();
    clock.advance(900); // the reply is slow
    watchdog.renewed(sentAt, 3000);
    clock.advance(3000 - killMarginMs(3000) - 900 - 1);
    assert.equal(watchdog.check(), false);
    clock.advance(1);
    assert.equal(watchdog.check(), true);
    assert.equal(lapsed, 1);
  });

  it('renews nothing once the lease could have lapsed (a reply that arrives after a pause)', () => {
    const clock = new ManualClock();
    let lapsed = 0;
    const watchdog = new LeaseWatchdog({ leaseMs: 2000, sentAt: clock.now(), clock, timer: false, onLapse: () => lapsed++ });
    const sentAt = clock.now() + 500;
    clock.advance(5000);
    watchdog.renewed(sentAt, 2000);
    assert.equal(lapsed, 1, 'the renewal found the lease lapsed and killed');
    assert.equal(watchdog.lapsed, true);
  });

  it('follows a lowered lease-timeout at the next renewal', () => {
    const clock = new ManualClock();
    let lapsed = 0;
    const watchdog = new LeaseWatchdog({ leaseMs: 30_000, sentAt: clock.now(), clock, timer: false, onLapse: () => lapsed++ });
    watchdog.renewed(clock.now(), 1000);
    clock.advance(1000 - killMarginMs(1000));
    assert.equal(watchdog.check(), true);
    assert.equal(lapsed, 1);
  });

  it('on its own timer, kills without anyone calling it, and a stopped one never fires', async () => {
    const lapses: string[] = [];
    const started = Date.now();
    new LeaseWatchdog({ leaseMs: 600, sentAt: started, onLapse: (reason) => lapses.push(reason) });
    await waitFor('the watchdog to fire', () => lapses.length === 1, { timeoutMs: 5000 });
    assert.ok(Date.now() - started < 600, `fired before the lease ran out (${Date.now() - started} ms)`);

    let stoppedFired = false;
    const stopped = new LeaseWatchdog({ leaseMs: 300, sentAt: Date.now(), onLapse: () => (stoppedFired = true) });
    stopped.stop();
    const until = Date.now() + 600;
    await waitFor('the stopped watchdog\'s lease to pass', () => Date.now() > until, { timeoutMs: 5000 });
    assert.equal(stoppedFired, false);
  });
});

describe('Heartbeat', () => {
  let temp: TempStore;
  let store: Store;
  beforeEach(async () => {
    temp = await tempSqliteStore();
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  const identity = { id: 'w1', host: 'h', pid: process.pid, pidStart: null };
  const registration = { worker: identity, concurrency: 2, queues: null };
  const claimParams = { workerId: 'w1', host: 'h', leaseMs: 3000, limit: 2, queues: null };

  it('registers the worker again at once when its row is gone', async () => {
    const logged: string[] = [];
    const heartbeat = new Heartbeat({ store, registration, log: (line) => logged.push(line) });
    await store.registerWorker(registration);
    assert.equal((await heartbeat.runOnce({ state: 'idle', held: [], leaseMs: 3000 })).registered, true);
    await store.removeWorker({ workerId: 'w1' });
    assert.equal((await heartbeat.runOnce({ state: 'idle', held: [], leaseMs: 3000 })).registered, false);
    const [worker] = await store.listWorkers({ staleAfterMs: 60_000 });
    assert.deepEqual([worker?.id, worker?.concurrency], ['w1', 2], 'registered again with its slots');
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /registering again/);
  });

  it('renews the leases of every job in hand in one beat and re-arms each watchdog from when the beat was sent', async () => {
    const clock = new ManualClock(Date.now());
    await store.registerWorker(registration);
    await store.enqueue({ jobs: [newJob('a'), newJob('b')], ifNotExists: false });
    assert.deepEqual((await store.claim(claimParams)).map((claimed) => claimed.job.id).sort(), ['a', 'b']);
    let lapsed = 0;
    const watchdogs = ['a', 'b'].map(() => new LeaseWatchdog({ leaseMs: 3000, sentAt: clock.now(), clock, timer: false, onLapse: () => lapsed++ }));
    clock.advance(2000);
    const heartbeat = new Heartbeat({ store, registration, log: () => undefined, clock });
    const reply = await heartbeat.runOnce({ state: 'busy', held: [{ jobId: 'a', watchdog: watchdogs[0]! }, { jobId: 'b', watchdog: watchdogs[1]! }], leaseMs: 3000 });
    assert.deepEqual([reply.lost, reply.cancels], [[], []]);
    clock.advance(2000);
    assert.deepEqual(watchdogs.map((watchdog) => watchdog.check()), [false, false], 'both renewed at 2 s: alive at 4 s');
    clock.advance(400);
    assert.deepEqual(watchdogs.map((watchdog) => watchdog.check()), [true, true]);
    assert.equal(lapsed, 2);
  });

  it('reports a lease it could not renew as lost and leaves that watchdog alone; a cancel names its job', async () => {
    const clock = new ManualClock(Date.now());
    await store.registerWorker(registration);
    await store.enqueue({ jobs: [newJob('a'), newJob('b')], ifNotExists: false });
    const claimed = await store.claim(claimParams);
    const a = claimed.find((c) => c.job.id === 'a')!;
    // Job a is no longer ours (as after a recovery); job b is asked to stop.
    await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: a.attempt, result: { outcome: 'worker_lost', exitCode: null, signal: null, error: 'lost' }, next: { state: 'failed', retryDelayMs: 60_000, countsAttempt: true } });
    await store.cancel({ ids: ['b'], signal: 'SIGTERM' });
    const watchdogs = ['a', 'b'].map(() => new LeaseWatchdog({ leaseMs: 3000, sentAt: clock.now(), clock, timer: false, onLapse: () => undefined }));
    clock.advance(2000);
    const heartbeat = new Heartbeat({ store, registration, log: () => undefined, clock });
    const reply = await heartbeat.runOnce({ state: 'busy', held: [{ jobId: 'a', watchdog: watchdogs[0]! }, { jobId: 'b', watchdog: watchdogs[1]! }], leaseMs: 3000 });
    assert.deepEqual(reply.lost, ['a']);
    assert.deepEqual(reply.cancels, [{ jobId: 'b', signal: 'SIGTERM' }]);
    clock.advance(1000);
    assert.deepEqual(watchdogs.map((watchdog) => watchdog.check()), [true, false], 'only the lease still held was renewed');
  });
});
