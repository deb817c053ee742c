import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { waitFor } from '../../support/wait-for';
import { describePerBackend, ms, type CliSession } from '../../support/cli-session';

// Settings workers apply from the config: on-finish, output-limit, backoff-jitter.

const HOOK_FILE = 'hook.log';
/** The hook appends one line per call, then fails on purpose: a failing hook must never fail a job. */
const hook = (file: string) => `printf '%s %s %s\\n' "$QUEUECTL_JOB_ID" "$QUEUECTL_STATE" "$QUEUECTL_EXIT_CODE" >> '${file}'; exit 7`;

/** The hook's lines so far. */
function hookLines(queue: CliSession): string[] {
  const path = queue.path(HOOK_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line !== '') : [];
}

const config = (scratch: string) => ({ 'on-finish': hook(join(scratch, HOOK_FILE)), 'backoff-max': '0' });

describePerBackend('on-finish hook', { workers: 2, config }, (queue) => {
  it('runs once per finished job, also one no worker ran, with its id, state and exit code; its failure never fails the job', async () => {
    const batch = [
      { id: 'h-ok', command: 'true' },
      { id: 'h-dead', command: 'exit 4', max_retries: 1 },
      { id: 'h-cancel', command: 'sleep 300' },
      // Ended with no worker to report them: cancelled while queued, and cancelled because a dependency died.
      { id: 'h-queued', command: 'true', delay: 3600 },
      { id: 'h-after-dead', command: 'true', depends_on: ['h-dead'] },
    ];
    await queue.say(['enqueue', '--file', '-'], { input: batch.map((job) => JSON.stringify(job)).join('\n') });
    await queue.waitForState('h-cancel', 'processing');
    await queue.say(['cancel', 'h-cancel', 'h-queued']);
    await queue.waitForState('h-cancel', 'cancelled');
    await queue.waitForState('h-ok', 'completed');
    await queue.waitForState('h-dead', 'dead');

    // A last job: once its hook line is written, the hooks of the jobs before it have had every chance to run.
    assert.equal((await queue.run(['enqueue', '--wait', '--id', 'h-last', '-c', 'echo done'])).code, 0);
    const expected = ['h-after-dead cancelled ', 'h-cancel cancelled ', 'h-dead dead 4', 'h-last completed 0', 'h-ok completed 0', 'h-queued cancelled '];
    await waitFor('a hook line for every job', () => hookLines(queue).length >= expected.length);
    assert.deepEqual(hookLines(queue).sort(), expected);

    const ok = await queue.inspect('h-ok');
    assert.deepEqual([ok.state, ok.attempts, ok.history.length], ['completed', 1, 1], 'the hook exits 7, the job still completed once');
    assert.equal((await queue.inspect('h-dead')).history.length, 2, 'the failed first attempt ran no hook; the job was not over');
  });
});

/** What `seq FROM TO` prints. */
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('');

const JITTER_JOBS = 8;

// A first retry is due backoff-base ^ 1 = 100s later, spread by up to half either way: 50s to 150s. No retry runs here.
const outputAndJitter = { 'output-limit': '1000', 'backoff-base': '100', 'backoff-jitter': '0.5' };

describePerBackend('output limit and backoff jitter', { workers: 1, config: outputAndJitter }, (queue) => {
  it('keeps the tail of a job that printed more than output-limit, and logs says it was cut', async () => {
    // `seq 1 3000` prints 13,893 bytes; the last 1,000 are the 200 lines from 2801 to 3000.
    assert.equal((await queue.run(['enqueue', '--wait', '--id', 'chatty', '-c', 'seq 1 3000'])).code, 0);
    const logs = await queue.run(['logs', 'chatty']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, lines(2801, 3000), 'the tail is kept, the head is gone');
    assert.match(logs.stderr, /output of attempt 1 was cut to its last 1000 bytes \(config output-limit\)/);

    const json = JSON.parse(await queue.say(['logs', 'chatty', '--json'])) as { truncated: boolean; stdout: string };
    assert.deepEqual([json.truncated, json.stdout], [true, logs.stdout]);
    const attempt = (await queue.inspect('chatty')).history[0];
    assert.deepEqual([attempt?.output_truncated, attempt?.output_bytes], [true, 1000]);
  });

  it('leaves output under the limit whole and says nothing', async () => {
    assert.equal((await queue.run(['enqueue', '--wait', '--id', 'quiet', '-c', 'seq 1 100'])).code, 0);
    const logs = await queue.run(['logs', 'quiet']);
    assert.equal(logs.stdout, lines(1, 100));
    assert.equal(logs.stderr, '');
  });

  it('spreads each retry delay by up to backoff-jitter either way', async () => {
    const ids = Array.from({ length: JITTER_JOBS }, (_, i) => `jitter-${i}`);
    const batch = ids.map((id) => JSON.stringify({ id, command: 'exit 1', max_retries: 1 })).join('\n');
    await queue.say(['enqueue', '--file', '-'], { input: batch });
    for (const id of ids) await queue.waitForState(id, 'failed');
    const failed = JSON.parse(await queue.say(['list', '--state', 'failed', '--json'])) as { run_at: string; updated_at: string; attempts: number }[];
    assert.deepEqual(failed.map((job) => job.attempts), ids.map(() => 1));
    // The attempt's end sets updated_at to now and run_at to now plus the delay, in one update.
    const delays = failed.map((job) => ms(job.run_at) - ms(job.updated_at));
    for (const delay of delays) assert.ok(delay >= 50_000 && delay <= 150_000, `delay ${delay}ms is within 100s ± 50%`);
    assert.ok(new Set(delays).size > 1, `the delays differ: ${delays.join(', ')}`);
    await queue.say(['cancel', ...ids]);
  });

  it('rejects a jitter outside 0 to 1 with exit 2', async () => {
    const result = await queue.run(['config', 'set', 'backoff-jitter', '1.5']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /config backoff-jitter: expected a number from 0 to 1, got '1.5'/);
    assert.equal((await queue.store.getConfig())['backoff-jitter'], '0.5', 'unchanged');
  });
});
