import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { describePerBackend } from '../../support/cli-session';

// backoff-max 0: a failed attempt is retried at once, so retries cost no waiting.
describePerBackend('job environment', { workers: 1, config: { 'backoff-max': '0' } }, (queue) => {
  it('runs a job in the directory enqueue was run from', async () => {
    const here = queue.mkdir('enqueued-from');
    const id = await queue.say(['enqueue', '-c', 'pwd -P'], { cwd: here });
    assert.equal((await queue.waitForState(id, 'completed')).cwd, here);
    assert.equal(await queue.say(['logs', id]), here);
  });

  it('runs a job in the directory its cwd field names, wherever enqueue ran', async () => {
    const elsewhere = queue.mkdir('cwd-field');
    const spec = JSON.stringify({ id: 'cwd-json', command: 'pwd -P', cwd: elsewhere });
    assert.equal(await queue.say(['enqueue', spec], { cwd: queue.mkdir('not-here') }), 'cwd-json');
    assert.equal((await queue.waitForState('cwd-json', 'completed')).cwd, elsewhere);
    assert.equal(await queue.say(['logs', 'cwd-json']), elsewhere);
  });

  it('gives the job --env and "env" variables, QUEUECTL_JOB_ID and QUEUECTL_ATTEMPT', async () => {
    const print = 'printf "%s|%s|%s|%s\\n" "$GREETING" "$SPACED" "$QUEUECTL_JOB_ID" "$QUEUECTL_ATTEMPT"';
    await queue.say(['enqueue', '--id', 'env-flags', '--env', 'GREETING=hello', '-e', 'SPACED=a b=c', '-c', print]);
    await queue.say(['enqueue', JSON.stringify({ id: 'env-json', command: print, env: { GREETING: 'hi', SPACED: '' } })]);
    assert.deepEqual((await queue.waitForState('env-flags', 'completed')).env, { GREETING: 'hello', SPACED: 'a b=c' }, 'kept as given');
    await queue.waitForState('env-json', 'completed');
    assert.equal(await queue.say(['logs', 'env-flags']), 'hello|a b=c|env-flags|1');
    assert.equal(await queue.say(['logs', 'env-json']), 'hi||env-json|1');
  });

  it('counts QUEUECTL_ATTEMPT up on a retry', async () => {
    const command = 'echo "attempt $QUEUECTL_ATTEMPT"; [ "$QUEUECTL_ATTEMPT" -ge 2 ]';
    await queue.say(['enqueue', '--id', 'env-retry', '--max-retries', '1', '-c', command]);
    await queue.waitForState('env-retry', 'completed');
    const job = await queue.inspect('env-retry');
    assert.deepEqual(job.history.map((a) => [a.outcome, a.exit_code]), [['exit', 1], ['exit', 0]]);
    assert.equal(await queue.say(['logs', 'env-retry', '--attempt', '1']), 'attempt 1');
    assert.equal(await queue.say(['logs', 'env-retry']), 'attempt 2');
  });

  it('records a missing working directory as a failed attempt (spawn_error), and the worker carries on', async () => {
    // enqueue refuses a cwd missing on its host, so the directory goes away after enqueue, before the job runs (held
    // back by a dependency on a job that waits for a file): the worker's own check is what is tested.
    const missing = queue.mkdir('no-such-dir');
    const release = queue.path('release-no-dir');
    await queue.say(['enqueue', JSON.stringify({ id: 'no-dir-gate', command: `while [ ! -e ${release} ]; do sleep 0.05; done` })]);
    await queue.say(['enqueue', JSON.stringify({ id: 'no-dir', command: 'echo never', cwd: missing, max_retries: 1, depends_on: ['no-dir-gate'] })]);
    rmSync(missing, { recursive: true });
    writeFileSync(release, '');
    await queue.waitForState('no-dir', 'dead');
    const job = await queue.inspect('no-dir');
    assert.equal(job.attempts, 2);
    assert.equal(job.history.length, 2);
    for (const attempt of job.history) {
      assert.equal(attempt.outcome, 'spawn_error');
      assert.equal(attempt.exit_code, null);
      assert.match(attempt.error ?? '', new RegExp(`working directory ${missing} does not exist`));
    }
    assert.match(job.last_error ?? '', /does not exist/);
    assert.equal(await queue.say(['logs', 'no-dir']), '', 'nothing ran, so nothing was printed');

    // The worker is still there and still takes jobs.
    const workers = JSON.parse(await queue.say(['worker', 'list', '--json'])) as { state: string }[];
    assert.deepEqual(workers.map((w) => w.state), ['idle']);
    await queue.say(['enqueue', '--id', 'after-no-dir', '-c', 'true']);
    await queue.waitForState('after-no-dir', 'completed');
  });
});
