import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_STEP_MS, nextTimerStep, setLongTimeout, type TimerApi } from '../../src/worker/long-timer';

/** Timers on a hand-moved clock: `runNext()` jumps to the earliest pending timer and fires it. */
function fakeTimers() {
  let now = 0;
  let nextId = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const steps: number[] = [];
  const api: TimerApi = {
    now: () => now,
    setTimeout: (fn, ms) => {
      assert.ok(Number.isInteger(ms) && ms >= 0 && ms <= MAX_TIMER_STEP_MS, `a step setTimeout can take: ${ms}`);
      steps.push(ms);
      pending.set(++nextId, { at: now + ms, fn });
      return nextId;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  const runNext = (): boolean => {
    let id: number | undefined;
    for (const [key, timer] of pending) if (id === undefined || timer.at < pending.get(id)!.at) id = key;
    const timer = id === undefined ? undefined : pending.get(id);
    if (id === undefined || timer === undefined) return false;
    pending.delete(id);
    now = Math.max(now, timer.at);
    timer.fn();
    return true;
  };
  /** Moves the clock without firing anything, as a suspended machine's does. */
  const jump = (ms: number) => void (now += ms);
  return { api, steps, pending, runNext, jump, now: () => now };
}

describe('setLongTimeout', () => {
  it('fires a delay setTimeout could take in one step', () => {
    const timers = fakeTimers();
    let firedAt: number | null = null;
    setLongTimeout(() => (firedAt = timers.now()), 1500, timers.api);
    while (timers.runNext());
    assert.deepEqual([firedAt, timers.steps], [1500, [1500]]);
  });

  for (const delayMs of [2 ** 31, 2_592_000_000, 10 * 366 * 86_400_000]) {
    it(`fires after ${delayMs} ms, not before, in steps setTimeout can take`, () => {
      const timers = fakeTimers();
      let fired = 0;
      let firedAt = -1;
      setLongTimeout(() => {
        fired++;
        firedAt = timers.now();
      }, delayMs, timers.api);
      let rounds = 0;
      while (timers.runNext() && rounds++ < 5_000_000);
      assert.equal(fired, 1);
      assert.equal(firedAt, delayMs);
      assert.equal(timers.steps.length, Math.ceil(delayMs / MAX_TIMER_STEP_MS));
    });
  }

  it('fires after Number.MAX_SAFE_INTEGER ms, re-reading the clock after each step', () => {
    const timers = fakeTimers();
    let firedAt = -1;
    setLongTimeout(() => (firedAt = timers.now()), Number.MAX_SAFE_INTEGER, timers.api);
    for (let i = 0; i < 3; i++) timers.runNext();
    assert.equal(firedAt, -1);
    // Most of the time passes at once (the steps in between were tested above); the rest is waited for.
    timers.jump(Number.MAX_SAFE_INTEGER - timers.now() - 2 * MAX_TIMER_STEP_MS - 7);
    while (timers.runNext());
    assert.equal(firedAt, Number.MAX_SAFE_INTEGER);
    assert.ok(timers.steps.every((ms) => ms <= MAX_TIMER_STEP_MS));
  });

  it('is cancelled in any step', () => {
    const timers = fakeTimers();
    let fired = false;
    const cancel = setLongTimeout(() => (fired = true), 3 * MAX_TIMER_STEP_MS, timers.api);
    timers.runNext();
    cancel();
    while (timers.runNext());
    assert.equal(fired, false);
    assert.equal(timers.pending.size, 0);
  });

  it('steps are whole, bounded and never negative', () => {
    assert.deepEqual([nextTimerStep(-5), nextTimerStep(0.2), nextTimerStep(2 ** 40)], [0, 1, MAX_TIMER_STEP_MS]);
  });

  it('works on the real timers for a short delay', async () => {
    const started = Date.now();
    await new Promise<void>((resolve) => setLongTimeout(resolve, 20));
    assert.ok(Date.now() - started >= 19);
  });
});
