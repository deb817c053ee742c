import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock';
import type { NewJob } from '../../src/core/job-spec';
import type { Store } from '../../src/store/store';
import { callDeadlineMs, Heartbeat, killMarginMs, LeaseWatchdog } from '../../src/worker/lease';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

const newJob = (id: string): NewJob => ({ id, command: 'true', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [] });

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

  it('registers the worker again at once when its row is gone', async () => {
    const logged: string[] = [];
    const heartbeat = new Heartbeat({ store, identity, log: (line) => logged.push(line) });
    await store.registerWorker({ worker: identity });
    assert.equal((await heartbeat.runOnce({ state: 'idle', held: null, leaseMs: 3000 })).registered, true);
    await store.removeWorker({ workerId: 'w1' });
    assert.equal((await heartbeat.runOnce({ state: 'idle', held: null, leaseMs: 3000 })).registered, false);
    assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => w.id), ['w1']);
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /registering again/);
  });

  it('renews the lease of the job in hand and re-arms its watchdog from when the beat was sent', async () => {
    const clock = new ManualClock(Date.now());
    await store.registerWorker({ worker: identity });
    await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
    await store.claim({ workerId: 'w1', host: 'h', leaseMs: 3000 });
    let lapsed = 0;
    const watchdog = new LeaseWatchdog({ leaseMs: 3000, sentAt: clock.now(), clock, timer: false, onLapse: () => lapsed++ });
    clock.advance(2000);
    const heartbeat = new Heartbeat({ store, identity, log: () => undefined, clock });
    assert.equal((await heartbeat.runOnce({ state: 'busy', held: { jobId: 'a', watchdog }, leaseMs: 3000 })).leaseHeld, true);
    clock.advance(2000);
    assert.equal(watchdog.check(), false, 'renewed at 2 s: alive at 4 s');
    clock.advance(400);
    assert.equal(watchdog.check(), true);
    assert.equal(lapsed, 1);
  });
});
