/** The longest delay setTimeout honours: a longer one overflows and fires after 1 ms (Node warns and clamps). */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1;

/** The scheduling functions a long timer uses; injected so tests never wait for real time. */
export interface TimerApi {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: TimerApi = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The next step to wait for `remainingMs`: never more than setTimeout can take, never negative. */
export function nextTimerStep(remainingMs: number): number {
  return Math.min(MAX_TIMER_STEP_MS, Math.max(0, Math.ceil(remainingMs)));
}

/**
 * Calls `fn` once `delayMs` have passed, for any finite delay (a job timeout of 30 days is 2.6e9 ms): it waits in
 * steps setTimeout can take and, after each, looks at the clock again. Returns the function that cancels it.
 */
export function setLongTimeout(fn: () => void, delayMs: number, timers: TimerApi = realTimers): () => void {
  const dueAt = timers.now() + delayMs;
  let handle: unknown = null;
  let cancelled = false;
  const arm = () => {
    handle = timers.setTimeout(() => {
      if (cancelled) return;
      if (timers.now() >= dueAt) fn();
      else arm();
    }, nextTimerStep(dueAt - timers.now()));
  };
  arm();
  return () => {
    cancelled = true;
    timers.clearTimeout(handle);
  };
}
