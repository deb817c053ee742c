import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_KEYS, validateConfigValue } from '../../src/core/config';
import { formatDuration, parseDuration, parseSecondsMs } from '../../src/core/duration';
import { UsageError } from '../../src/core/errors';
import { parseJobSpec } from '../../src/core/job-spec';
import { MAX_ARG_BYTES, MAX_DURATION_MS, MAX_DURATION_SECONDS, MAX_JOB_ARGS_BYTES, MAX_PRIORITY, MIN_PRIORITY } from '../../src/core/limits';
import { attemptToJson, isoTime, jobToJson } from '../../src/core/serialize';
import type { Job } from '../../src/core/job';

function rejects(fn: () => unknown, message: RegExp, what: string): void {
  assert.throws(fn, (err: unknown) => err instanceof UsageError && message.test(err.message), what);
}

const spec = (fields: Record<string, unknown>) => () => parseJobSpec({ command: 'true', ...fields }, '/work');

describe('input bounds (core/limits.ts)', () => {
  it('bounds every number and time of a job spec', () => {
    rejects(spec({ delay: 1e20 }), /^delay: expected a number of seconds from 0 to 315360000/, 'delay 1e20');
    rejects(spec({ delay: MAX_DURATION_SECONDS + 1 }), /^delay:/, 'delay just over');
    assert.equal(parseJobSpec({ command: 'true', delay: MAX_DURATION_SECONDS }, null).job.delayMs, MAX_DURATION_MS);
    rejects(spec({ timeout: 1e300 }), /^timeout:/, 'timeout');
    rejects(spec({ priority: MAX_PRIORITY + 1 }), /^priority: expected a whole number from -2147483648 to 2147483647/, 'priority');
    rejects(spec({ priority: MIN_PRIORITY - 1 }), /^priority:/, 'negative priority');
    assert.equal(parseJobSpec({ command: 'true', priority: MIN_PRIORITY }, null).job.priority, MIN_PRIORITY);
    rejects(spec({ max_retries: 1e15 }), /^max_retries:/, 'max_retries');
    rejects(spec({ run_at: '9999-12-31T00:00:00Z' }), /^run_at: .* is out of range/, 'run_at far ahead');
    rejects(spec({ run_at: '1969-12-31T23:59:59Z' }), /^run_at: .* is out of range/, 'run_at before 1970');
    assert.ok(parseJobSpec({ command: 'true', run_at: '2001-01-01T00:00:00Z' }, null).job.runAt! > 0, 'a past run_at is fine');
  });

  it('refuses strings no exec accepts: NUL bytes, one over 128 KiB, command and env over 1 MiB together', () => {
    rejects(spec({ command: 'echo a\0b' }), /^command: must not contain a NUL byte/, 'NUL in command');
    rejects(spec({ cwd: '/tmp\0x' }), /^cwd: must not contain a NUL byte/, 'NUL in cwd');
    rejects(spec({ env: { A: 'x\0y' } }), /^env\.A: must not contain a NUL byte/, 'NUL in env');
    rejects(spec({ env: { 'A=B': 'x' } }), /^env: "A=B" is not a valid variable name/, '= in a name');
    rejects(spec({ command: 'x'.repeat(MAX_ARG_BYTES + 1) }), /^command: 131072 bytes is over the 131071-byte limit/, 'long command');
    // Counted in bytes: 50,000 three-byte characters are 150,000 bytes.
    rejects(spec({ command: '€'.repeat(50_000) }), /^command: 150000 bytes/, 'multi-byte command');
    rejects(spec({ env: { A: 'x'.repeat(MAX_ARG_BYTES) } }), /^env\.A: 131073 bytes/, 'long env value');
    const env = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`V${i}`, 'x'.repeat(120_000)]));
    rejects(spec({ env }), /^command and env: \d+ bytes together is over the 1048576-byte limit/, 'env total');
    assert.equal(parseJobSpec({ command: 'x'.repeat(MAX_ARG_BYTES) }, null).job.command.length, MAX_ARG_BYTES);
    assert.ok(MAX_JOB_ARGS_BYTES > MAX_ARG_BYTES);
  });

  it('resolves a relative cwd against where enqueue ran', () => {
    assert.equal(parseJobSpec({ command: 'true', cwd: 'build' }, '/work/app').job.cwd, '/work/app/build');
    assert.equal(parseJobSpec({ command: 'true', cwd: '../x' }, '/work/app').job.cwd, '/work/x');
    assert.equal(parseJobSpec({ command: 'true', cwd: '/srv' }, '/work/app').job.cwd, '/srv');
  });

  it('bounds durations, seconds and config values', () => {
    rejects(() => parseDuration('3651d', '--older-than'), /^--older-than: '3651d' is too long; the limit is 10 years/, 'duration');
    rejects(() => parseDuration('99999999999999999999', 'retention'), /^retention: .* is too long/, 'bare seconds');
    assert.equal(parseDuration('3650d', 'x'), MAX_DURATION_MS);
    rejects(() => parseSecondsMs('1e20', '--timeout'), /^--timeout: '1e20' is not a duration/, 'seconds');
    for (const [key, value] of [['job-timeout', '1e20'], ['backoff-max', '400000000'], ['output-limit', '99999999999'], ['retention', '20000d'], ['on-finish', 'a\0b']] as const) {
      rejects(() => validateConfigValue(key, value), new RegExp(`^config ${key}:`), `${key} ${value}`);
    }
    assert.equal(CONFIG_KEYS['job-timeout'].parse(String(MAX_DURATION_SECONDS)), MAX_DURATION_SECONDS);
    assert.equal(formatDuration(Infinity), 'Infinity');
  });

  it('serialises any stored value without throwing', () => {
    assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
    assert.equal(isoTime(1e23), '1e+23');
    assert.equal(isoTime(Number.NaN), 'NaN');
    const job = { id: 'a', command: 'x', state: 'pending', attempts: 0, maxRetries: 3, priority: 0, runAt: 1e23, timeout: null, cwd: null, env: null,
      dependsOn: [], createdAt: 1e300, updatedAt: -1e20, finishedAt: Number.NaN, workerId: null, leaseExpiresAt: null, lastError: null, exitCode: null,
      cancelSignal: null } as unknown as Job;
    const json = jobToJson(job);
    assert.deepEqual([json.run_at, json.created_at, json.updated_at, json.finished_at], ['1e+23', '1e+300', '-100000000000000000000', 'NaN']);
    assert.equal(attemptToJson({ attempt: 1, workerId: 'w', host: 'h', pid: null, startedAt: 1e23, finishedAt: null, outcome: null, exitCode: null,
      signal: null, error: null, outputBytes: 0, outputTruncated: false } as never).started_at, '1e+23');
  });
});
