import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelayMs, type BackoffPolicy } from '../../src/core/backoff';

const policy = (fields: Partial<BackoffPolicy> = {}): BackoffPolicy => ({ base: 2, maxSeconds: 3600, jitter: 0, ...fields });

describe('retryDelayMs', () => {
  it('waits base ^ attempts seconds', () => {
    assert.deepEqual([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, policy())), [2_000, 4_000, 8_000, 16_000]);
    assert.equal(retryDelayMs(2, policy({ base: 1.5 })), 2_250);
    assert.equal(retryDelayMs(5, policy({ base: 1 })), 1_000);
    assert.equal(retryDelayMs(0, policy()), 1_000);
  });

  it('caps the delay at maxSeconds', () => {
    assert.equal(retryDelayMs(5, policy({ maxSeconds: 10 })), 10_000);
    assert.equal(retryDelayMs(3, policy({ maxSeconds: 0 })), 0);
    assert.equal(retryDelayMs(1_000, policy()), 3_600_000, 'a huge exponent is capped, not Infinity');
  });

  it('spreads the delay by up to jitter either way, with an injectable random', () => {
    const jittered = policy({ jitter: 0.25 });
    assert.equal(retryDelayMs(3, jittered, () => 0), 6_000);
    assert.equal(retryDelayMs(3, jittered, () => 0.5), 8_000);
    assert.equal(retryDelayMs(3, jittered, () => 1), 10_000);
    assert.equal(retryDelayMs(3, policy({ jitter: 1 }), () => 0), 0, 'never negative');
    assert.equal(retryDelayMs(5, policy({ jitter: 0.5, maxSeconds: 10 }), () => 1), 10_000, 'the cap holds with jitter');
    assert.equal(retryDelayMs(5, policy({ jitter: 0.5, maxSeconds: 100 }), () => 0), 16_000, 'jitter spreads below the cap');
  });

  it('does not draw a random number without jitter', () => {
    assert.equal(retryDelayMs(2, policy(), () => assert.fail('random() called')), 4_000);
  });

  it('rounds to whole milliseconds', () => {
    assert.equal(retryDelayMs(1, policy({ base: 1.0005 })), 1_001);
    assert.ok(Number.isInteger(retryDelayMs(3, policy({ jitter: 0.3 }), () => 0.123456)));
  });
});
