import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackoffPolicy } from '../../src/core/backoff';
import { ATTEMPT_OUTCOMES, canTransition, isJobState, isTerminal, JOB_STATES, TERMINAL_STATES, TRANSITIONS, type AttemptOutcome } from '../../src/core/job';
import { describeResult, planAfterAttempt, type AttemptResult, type NextState } from '../../src/core/transitions';

const policy: BackoffPolicy = { base: 2, maxSeconds: 3600, jitter: 0 };

function result(outcome: AttemptOutcome, exitCode: number | null = null, signal: string | null = null): AttemptResult {
  return { outcome, exitCode, signal, error: null };
}

describe('planAfterAttempt', () => {
  // attempts: counted so far, including the attempt that just ended.
  const table: [string, { attempts: number; maxRetries: number }, AttemptResult, NextState][] = [
    ['exit 0 completes', { attempts: 1, maxRetries: 3 }, result('exit', 0), { state: 'completed', retryDelayMs: 0, countsAttempt: true }],
    ['exit 0 completes on the last allowed run', { attempts: 4, maxRetries: 3 }, result('exit', 0), { state: 'completed', retryDelayMs: 0, countsAttempt: true }],
    ['a first failure waits base^1 s', { attempts: 1, maxRetries: 3 }, result('exit', 1), { state: 'failed', retryDelayMs: 2_000, countsAttempt: true }],
    ['the last retry still fails, waiting base^3 s', { attempts: 3, maxRetries: 3 }, result('exit', 2), { state: 'failed', retryDelayMs: 8_000, countsAttempt: true }],
    ['max_retries re-runs used up: dead', { attempts: 4, maxRetries: 3 }, result('exit', 2), { state: 'dead', retryDelayMs: 0, countsAttempt: true }],
    ['max_retries 0: dead after one failure', { attempts: 1, maxRetries: 0 }, result('exit', 1), { state: 'dead', retryDelayMs: 0, countsAttempt: true }],
    ['killed by a signal fails', { attempts: 1, maxRetries: 3 }, result('exit', null, 'SIGKILL'), { state: 'failed', retryDelayMs: 2_000, countsAttempt: true }],
    ['a timeout fails', { attempts: 2, maxRetries: 3 }, result('timeout', null, 'SIGTERM'), { state: 'failed', retryDelayMs: 4_000, countsAttempt: true }],
    ['a spawn error fails', { attempts: 1, maxRetries: 1 }, result('spawn_error'), { state: 'failed', retryDelayMs: 2_000, countsAttempt: true }],
    ['a spawn error on the last run is dead', { attempts: 2, maxRetries: 1 }, result('spawn_error'), { state: 'dead', retryDelayMs: 0, countsAttempt: true }],
    ['a lost worker fails', { attempts: 1, maxRetries: 3 }, result('worker_lost'), { state: 'failed', retryDelayMs: 2_000, countsAttempt: true }],
    ['a cancel ends cancelled', { attempts: 1, maxRetries: 3 }, result('cancelled', null, 'SIGTERM'), { state: 'cancelled', retryDelayMs: 0, countsAttempt: true }],
    ['a cancel on the last run is still cancelled, not dead', { attempts: 4, maxRetries: 3 }, result('cancelled'), { state: 'cancelled', retryDelayMs: 0, countsAttempt: true }],
    ['a forced stop goes back to pending uncounted', { attempts: 4, maxRetries: 3 }, result('stopped', null, 'SIGKILL'), { state: 'pending', retryDelayMs: 0, countsAttempt: false }],
  ];
  for (const [name, job, attempt, expected] of table) {
    it(name, () => {
      const plan = planAfterAttempt(job, attempt, policy);
      assert.deepEqual(plan, expected);
      assert.ok(canTransition('processing', plan.state), `processing -> ${plan.state} is a legal transition`);
    });
  }

  it('applies the backoff cap and jitter', () => {
    assert.equal(planAfterAttempt({ attempts: 10, maxRetries: 20 }, result('exit', 1), { ...policy, maxSeconds: 60 }).retryDelayMs, 60_000);
    assert.equal(planAfterAttempt({ attempts: 2, maxRetries: 3 }, result('exit', 1), { ...policy, jitter: 0.5 }, () => 1).retryDelayMs, 6_000);
  });

  it('covers every attempt outcome', () => {
    for (const outcome of ATTEMPT_OUTCOMES) assert.ok(planAfterAttempt({ attempts: 1, maxRetries: 1 }, result(outcome, 1), policy), outcome);
  });
});

describe('describeResult', () => {
  it('gives a one-line reason per outcome', () => {
    assert.equal(describeResult(result('exit', 0)), null);
    assert.equal(describeResult(result('exit', 3)), 'exit code 3');
    assert.equal(describeResult(result('exit', null, 'SIGKILL')), 'killed by SIGKILL');
    assert.equal(describeResult({ ...result('timeout'), timeoutSeconds: 5 }), 'timed out after 5s');
    assert.equal(describeResult(result('timeout')), 'timed out after ?s');
    assert.equal(describeResult({ ...result('spawn_error'), error: 'spawn sh ENOENT' }), 'could not start: spawn sh ENOENT');
    assert.equal(describeResult(result('worker_lost')), 'worker lost');
    assert.equal(describeResult({ ...result('worker_lost'), error: 'lease expired on host-1' }), 'lease expired on host-1');
    assert.equal(describeResult(result('cancelled')), 'cancelled');
    assert.equal(describeResult(result('stopped')), 'interrupted by a forced worker stop');
  });
});

describe('job states', () => {
  it('has a transition row for every state, naming only states', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...JOB_STATES].sort());
    for (const targets of Object.values(TRANSITIONS)) for (const target of targets) assert.ok(isJobState(target), target);
  });

  it('lets only completed jobs never move again, and dead or cancelled ones only back to pending', () => {
    assert.deepEqual(TRANSITIONS.completed, []);
    assert.deepEqual(TRANSITIONS.dead, ['pending']);
    assert.deepEqual(TRANSITIONS.cancelled, ['pending']);
    assert.equal(canTransition('waiting', 'processing'), false, 'a waiting job is never claimed');
    assert.equal(canTransition('pending', 'processing'), true);
    assert.equal(canTransition('failed', 'processing'), true);
    assert.equal(canTransition('completed', 'pending'), false);
  });

  it('knows the terminal states and the state names', () => {
    assert.deepEqual(JOB_STATES.filter(isTerminal), [...TERMINAL_STATES]);
    assert.deepEqual(TERMINAL_STATES, ['completed', 'dead', 'cancelled']);
    assert.equal(isJobState('pending'), true);
    assert.equal(isJobState('running'), false);
  });
});
