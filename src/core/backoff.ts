/** Inputs to the retry delay, all from config. */
export interface BackoffPolicy {
  /** `delay = base ^ attempts` seconds. */
  base: number;
  /** Upper bound in seconds. */
  maxSeconds: number;
  /** 0..1: each delay is spread by up to this fraction either way. */
  jitter: number;
}

/**
 * Delay in milliseconds before the next attempt, after `attempts` failed attempts (1 after the first failure).
 * `random` is injectable so jitter is testable.
 */
export function retryDelayMs(attempts: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const spread = policy.jitter > 0 ? 1 + policy.jitter * (2 * random() - 1) : 1;
  // The cap is applied last: `backoff-max` is a promise to the user that no retry waits longer.
  const seconds = Math.min(Math.pow(policy.base, attempts) * spread, policy.maxSeconds);
  return Math.max(0, Math.round(seconds * 1000));
}
