import { retryDelayMs, type BackoffPolicy } from './backoff';
import type { AttemptOutcome, JobState } from './job';

/** How an attempt ended, as the worker (or a reaper) reports it. */
export interface AttemptResult {
  outcome: AttemptOutcome;
  exitCode: number | null;
  signal: string | null;
  /** Why it failed, for people: "exit code 3", "timed out after 5s", "worker lost". */
  error: string | null;
}

/** Where the job goes after an attempt, decided by the core and applied by the store in one guarded update. */
export interface NextState {
  state: Extract<JobState, 'completed' | 'failed' | 'dead' | 'cancelled' | 'pending'>;
  /** For `failed`: how long until the retry is due. */
  retryDelayMs: number;
  /** False for a forced stop: the attempt is taken back and not counted against max_retries. */
  countsAttempt: boolean;
}

/**
 * The retry policy: exit 0 completes; a cancel ends cancelled; a forced stop puts the job back untouched; any other
 * end is a failed attempt, retried after `backoff-base ^ attempts` seconds until `max_retries` re-runs are used up.
 */
export function planAfterAttempt(
  job: { attempts: number; maxRetries: number },
  result: AttemptResult,
  policy: BackoffPolicy,
  random?: () => number,
): NextState {
  if (result.outcome === 'exit' && result.exitCode === 0) return { state: 'completed', retryDelayMs: 0, countsAttempt: true };
  if (result.outcome === 'cancelled') return { state: 'cancelled', retryDelayMs: 0, countsAttempt: true };
  if (result.outcome === 'stopped') return { state: 'pending', retryDelayMs: 0, countsAttempt: false };
  if (job.attempts > job.maxRetries) return { state: 'dead', retryDelayMs: 0, countsAttempt: true };
  return { state: 'failed', retryDelayMs: retryDelayMs(job.attempts, policy, random), countsAttempt: true };
}

/** A one-line reason for a failed attempt. */
export function describeResult(result: Omit<AttemptResult, 'error'> & { error?: string | null; timeoutSeconds?: number | null }): string | null {
  switch (result.outcome) {
    case 'exit':
      if (result.signal) return `killed by ${result.signal}`;
      return result.exitCode === 0 ? null : `exit code ${result.exitCode}`;
    case 'timeout':
      return `timed out after ${result.timeoutSeconds ?? '?'}s`;
    case 'spawn_error':
      return `could not start: ${result.error ?? 'unknown error'}`;
    case 'worker_lost':
      return result.error ?? 'worker lost';
    case 'cancelled':
      return result.error ?? 'cancelled';
    case 'stopped':
      return 'interrupted by a forced worker stop';
  }
}
