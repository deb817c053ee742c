import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { processRuns } from '../../support/processes';
import { waitFor } from '../../support/wait-for';
import { describePerBackend } from '../../support/cli-session';

describePerBackend('cancel', { workers: 1 }, (queue) => {
  /** Enqueues a job whose `sleep 300` (a child of the job's shell) writes its pid to a file; returns that pid once running. */
  async function startSleeper(id: string): Promise<number> {
    const pidFile = queue.path(`${id}.pid`);
    await queue.say(['enqueue', '--id', id, '--max-retries', '3', '-c', `sleep 300 & echo $! > '${pidFile}'; wait`]);
    const pid = await waitFor(`${id} to write its pid`, () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0));
    assert.ok(processRuns(pid), 'the sleep runs');
    assert.equal((await queue.peek(id))?.state, 'processing');
    return pid;
  }

  it('kills a running job\'s process group; the job ends cancelled and is not retried', async () => {
    const pid = await startSleeper('c-running');
    const cancelled = await queue.run(['cancel', 'c-running']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(cancelled.stdout, 'c-running  running: its worker sends SIGTERM\n');
    await waitFor('the sleep to be killed', () => !processRuns(pid));
    await queue.waitForState('c-running', 'cancelled');

    // Let the workers take and finish another job, so a retry would have had its chance.
    await queue.say(['enqueue', '--wait', '--id', 'c-barrier', '-c', 'true']);
    const job = await queue.inspect('c-running');
    assert.equal(job.state, 'cancelled');
    assert.equal(job.attempts, 1);
    assert.equal(job.history.length, 1, 'no new attempt');
    assert.equal(job.history[0]?.outcome, 'cancelled');
    assert.equal(job.history[0]?.signal, 'SIGTERM');
  });

  it('--signal KILL sends SIGKILL', async () => {
    const pid = await startSleeper('c-kill');
    const cancelled = await queue.run(['cancel', 'c-kill', '--signal', 'KILL']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /running: its worker sends SIGKILL/);
    await waitFor('the sleep to be killed', () => !processRuns(pid));
    await queue.waitForState('c-kill', 'cancelled');
    const job = await queue.inspect('c-kill');
    assert.deepEqual(job.history.map((a) => [a.outcome, a.signal]), [['cancelled', 'SIGKILL']]);
  });

  it('cancels a pending job at once; a finished job is left as it is', async () => {
    await queue.say(['enqueue', '--id', 'c-pending', '--delay', '3600', '-c', 'true']);
    const cancelled = await queue.run(['cancel', 'c-pending', '--json']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.deepEqual(JSON.parse(cancelled.stdout), [{ id: 'c-pending', action: 'cancelled', state: 'cancelled' }]);
    const job = await queue.inspect('c-pending');
    assert.deepEqual([job.state, job.attempts, job.history.length, job.last_error], ['cancelled', 0, 0, 'cancelled by user']);

    const again = await queue.run(['cancel', 'c-pending']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'c-pending  already cancelled; unchanged\n');
  });

  it('rejects a bad signal (exit 2) and an unknown id (exit 1) without changing anything', async () => {
    await queue.say(['enqueue', '--id', 'c-keep', '--delay', '3600', '-c', 'true']);
    const badSignal = await queue.run(['cancel', 'c-keep', '--signal', 'BOGUS']);
    assert.equal(badSignal.code, 2);
    assert.match(badSignal.stderr, /unknown signal 'BOGUS'/);
    assert.equal(badSignal.stdout, '');

    const unknown = await queue.run(['cancel', 'c-keep', 'no-such-job']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no job with id 'no-such-job'/);

    const job = await queue.peek('c-keep');
    assert.equal(job?.state, 'pending', 'the valid id in the same call was not cancelled either');
    assert.equal(job?.cancelSignal, null);
    await queue.say(['cancel', 'c-keep']);
  });
});
