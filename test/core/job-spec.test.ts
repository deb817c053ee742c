import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors';
import { generateJobId, parseJobJson, parseJobSpec, parseRunAt, validateJobId } from '../../src/core/job-spec';

/** Asserts that `spec` is rejected with a UsageError (exit code 2) whose message matches. */
function rejects(spec: unknown, message: RegExp): void {
  assert.throws(
    () => parseJobSpec(spec, '/work'),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
      assert.equal(err.exitCode, 2);
      assert.match(err.message, message);
      return true;
    },
    JSON.stringify(spec),
  );
}

describe('parseJobSpec', () => {
  it('fills defaults for a bare command, recording the default cwd', () => {
    const { job, ifNotExists } = parseJobSpec({ command: 'echo hi' }, '/work');
    assert.match(job.id, /^[0-9a-z]{10}$/);
    assert.deepEqual(
      { ...job, id: 'x' },
      { id: 'x', command: 'echo hi', queue: 'default', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: '/work', env: null, dependsOn: [] },
    );
    assert.equal(ifNotExists, false);
    assert.equal(parseJobSpec({ command: 'x' }, null).job.cwd, null);
  });

  it('maps every field', () => {
    const { job, ifNotExists } = parseJobSpec(
      {
        id: 'build-1', command: 'make', queue: 'video', max_retries: 0, priority: -5, delay: 1.5, timeout: 2.5, cwd: '/srv', env: { A: '1', _B2: '' },
        depends_on: ['a', 'b', 'a'], if_not_exists: true,
      },
      '/work',
    );
    assert.deepEqual(job, {
      id: 'build-1', command: 'make', queue: 'video', maxRetries: 0, priority: -5, runAt: null, delayMs: 1_500, timeout: 2.5, cwd: '/srv',
      env: { A: '1', _B2: '' }, dependsOn: ['a', 'b'],
    });
    assert.equal(ifNotExists, true);
    assert.equal(parseJobSpec({ command: 'x', run_at: '2030-01-31T09:00:00Z' }, null).job.runAt, Date.UTC(2030, 0, 31, 9));
  });

  it('reads delay and timeout in the one duration grammar, and run_at without a zone in local time', () => {
    const { job } = parseJobSpec({ command: 'x', delay: '1h', timeout: '10m' }, null);
    assert.equal(job.delayMs, 3_600_000);
    assert.equal(job.timeout, 600);
    assert.equal(parseJobSpec({ command: 'x', run_at: '2030-01-31T09:00' }, null).job.runAt, new Date(2030, 0, 31, 9).getTime());
    assert.equal(parseJobSpec({ command: 'x', run_at: '2030-01-31' }, null).job.runAt, new Date(2030, 0, 31).getTime());
    assert.throws(() => parseJobSpec({ command: 'x', delay: 'soon' }, null), /delay: 'soon' is not a duration/);
  });

  it('treats a timeout of 0 or null as none', () => {
    assert.equal(parseJobSpec({ command: 'x', timeout: 0 }, null).job.timeout, null);
    assert.equal(parseJobSpec({ command: 'x', timeout: null }, null).job.timeout, null);
  });

  it('rejects a spec that is not an object', () => {
    rejects(null, /must be a JSON object.*got null/);
    rejects(['echo'], /got an array/);
    rejects('echo hi', /got string/);
  });

  it('rejects an unknown field by name, listing the allowed ones', () => {
    rejects({ command: 'x', cmd: 'y' }, /^unknown field 'cmd'; allowed fields: id, command,/);
    rejects({ command: 'x', maxRetries: 3 }, /^unknown field 'maxRetries'/);
  });

  it('rejects a missing, empty or non-string command', () => {
    rejects({}, /^command: required/);
    rejects({ command: '' }, /^command: must not be empty/);
    rejects({ command: '  \t' }, /^command: must not be empty/);
    rejects({ command: 42 }, /^command: expected a string, got 42/);
    rejects({ command: ['ls'] }, /^command: expected a string/);
  });

  it('rejects numbers of the wrong type or range, naming the field', () => {
    for (const value of [-1, 1.5, '3', null, 2 ** 60]) rejects({ command: 'x', max_retries: value }, /^max_retries: expected a whole number from 0 to 1000000/);
    for (const value of ['high', 0.5, true]) rejects({ command: 'x', priority: value }, /^priority: expected a whole number/);
    for (const value of [-1, Infinity, null]) rejects({ command: 'x', delay: value }, /^delay: expected a number of seconds from 0 to 315360000/);
    for (const value of [-0.5, false]) rejects({ command: 'x', timeout: value }, /^timeout: expected a number of seconds from 0/);
  });

  it('rejects a bad run_at, and run_at together with delay', () => {
    for (const value of ['tomorrow', 1_900_000_000_000, '2030-1-5', '2030-01-31T9:00Z', '31/01/2030']) {
      rejects({ command: 'x', run_at: value }, /^run_at: expected an ISO 8601 date-time/);
    }
    rejects({ command: 'x', run_at: '2030-13-01T00:00:00Z' }, /^run_at: .* is not a real date-time/);
    rejects({ command: 'x', run_at: '2030-01-31T09:00:00Z', delay: 5 }, /^run_at and delay: give one or the other/);
  });

  it('rejects a bad id', () => {
    for (const value of ['', '-leading-dash', '.hidden', 'has space', 'a'.repeat(129), 'semi;colon', 7, null]) {
      rejects({ command: 'x', id: value }, /^id: .* is not a valid job id/);
    }
  });

  it('rejects env that is not an object of string values', () => {
    for (const value of [['A=1'], 'A=1', null, 5]) rejects({ command: 'x', env: value }, /^env: expected an object/);
    rejects({ command: 'x', env: { '1BAD': 'v' } }, /^env: "1BAD" is not a valid variable name/);
    rejects({ command: 'x', env: { 'A-B': 'v' } }, /^env: "A-B"/);
    rejects({ command: 'x', env: { PORT: 8080 } }, /^env\.PORT: expected a string, got 8080/);
  });

  it('rejects a bad depends_on, including a job depending on itself', () => {
    rejects({ command: 'x', depends_on: 'a' }, /^depends_on: expected an array of job ids/);
    rejects({ command: 'x', depends_on: ['ok', 'not ok'] }, /^depends_on: "not ok" is not a valid job id/);
    rejects({ command: 'x', depends_on: [3] }, /^depends_on: 3 is not a valid job id/);
    rejects({ command: 'x', id: 'me', depends_on: ['other', 'me'] }, /^depends_on: job 'me' cannot depend on itself/);
  });

  it('rejects a bad cwd and a non-boolean if_not_exists', () => {
    for (const value of ['', 5, null]) rejects({ command: 'x', cwd: value }, /^cwd: expected a directory path/);
    rejects({ command: 'x', if_not_exists: 'yes' }, /^if_not_exists: expected true or false/);
  });
});

describe('parseJobJson', () => {
  it('parses JSON text into a job', () => {
    assert.equal(parseJobJson('{"id":"j1","command":"echo hi"}', null).job.id, 'j1');
  });

  it('rejects invalid JSON with a UsageError', () => {
    assert.throws(() => parseJobJson('{"command":', null), (err: unknown) => err instanceof UsageError && /^invalid JSON: /.test(err.message));
    assert.throws(() => parseJobJson('[]', null), UsageError);
  });
});

describe('parseRunAt', () => {
  it('reads ISO 8601 with a zone, and without one in local time', () => {
    const cases: [string, number][] = [
      ['2030-01-31T09:00:00Z', Date.UTC(2030, 0, 31, 9)],
      ['2030-01-31T09:00:00+02:00', Date.UTC(2030, 0, 31, 7)],
      ['2030-01-31T09:00:00-0530', Date.UTC(2030, 0, 31, 14, 30)],
      ['2030-01-31T09:00', new Date(2030, 0, 31, 9).getTime()],
      ['2030-01-31 09:00:00.250', new Date(2030, 0, 31, 9, 0, 0, 250).getTime()],
      ['2030-01-31', new Date(2030, 0, 31).getTime()],
    ];
    for (const [text, ms] of cases) assert.equal(parseRunAt(text), ms, text);
  });

  it('names the field it was given', () => {
    assert.throws(() => parseRunAt('later', '--run-at'), (err: unknown) => err instanceof UsageError && err.message.startsWith('--run-at: '));
  });
});

describe('job ids', () => {
  it('accepts the documented alphabet up to 128 characters', () => {
    for (const id of ['a', '0', 'build:v1.2/step@host+x_y-z', 'A'.repeat(128)]) assert.equal(validateJobId(id), id);
  });

  it('generates short, valid, distinct ids', () => {
    const ids = Array.from({ length: 1_000 }, () => generateJobId());
    for (const id of ids) {
      assert.match(id, /^[0-9a-z]{10}$/);
      assert.equal(validateJobId(id), id);
    }
    assert.equal(new Set(ids).size, ids.length);
  });
});
