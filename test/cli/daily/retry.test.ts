import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { assertCleanFailure, describePerBackend, readLines } from '../../support/cli-session';

/** Issue 13: `queuectl retry ID…` re-runs any finished job, completed ones too, keeping its history (pueue's restart). */
describePerBackend('retry', { workers: 1 }, (queue) => {
  it('runs completed, dead and cancelled jobs again; their history is kept', async () => {
    const runs = queue.path('runs.txt');
    const healed = queue.path('healed');
    await queue.say(['enqueue', '--wait', '--id', 'r-done', '-c', `echo r-done >> ${runs}`]);
    await queue.enqueue({ id: 'r-dead', command: `echo r-dead >> ${runs}; [ -e ${healed} ] || exit 3`, max_retries: 0 });
    await queue.waitForState('r-dead', 'dead');
    await queue.say(['enqueue', '--id', 'r-cancelled', '--delay', '1h', '-c', `echo r-cancelled >> ${runs}`]);
    await queue.say(['cancel', 'r-cancelled']);
    const before = await Promise.all(['r-done', 'r-dead', 'r-cancelled'].map((id) => queue.inspect(id)));
    assert.deepEqual(before.map((job) => [job.state, job.history.length]), [['completed', 1], ['dead', 1], ['cancelled', 0]]);

    writeFileSync(healed, '');
    assert.equal(await queue.ok(['retry', 'r-done', 'r-dead', 'r-cancelled']), 'retried 3 job(s): r-done r-dead r-cancelled\n');
    for (const id of ['r-done', 'r-dead', 'r-cancelled']) await queue.waitForState(id, 'completed');

    const after = await Promise.all(['r-done', 'r-dead', 'r-cancelled'].map((id) => queue.inspect(id)));
    for (const [i, job] of after.entries()) {
      const earlier = before[i]!;
      assert.equal(job.attempts, 1, `${job.id}: attempts counted afresh`);
      assert.equal(job.history.length, earlier.history.length + 1, `${job.id}: one attempt more`);
      assert.deepEqual(job.history.slice(0, -1), earlier.history, `${job.id}: the earlier attempts are kept as they were`);
      assert.equal(job.history.at(-1)?.exit_code, 0);
      assert.equal(job.created_at, earlier.created_at);
    }
    assert.deepEqual(readLines(runs).sort(), ['r-cancelled', 'r-dead', 'r-dead', 'r-done', 'r-done']);
    assert.deepEqual(await queue.json(['retry', 'r-done', 'r-done']), { retried: ['r-done'] }, 'an id given twice is retried once');
    await queue.waitForJob('r-done', 'to run a third time', (job) => job.state === 'completed' && readLines(runs).filter((l) => l.startsWith('r-done')).length === 3);
  });

  it('refuses an unknown id or an unfinished job with one line, exit 1, changing nothing', async () => {
    const gate = queue.gate('running-gate');
    await queue.say(['enqueue', '--wait', '--id', 'x-done', '-c', 'true']);
    await queue.say(['enqueue', '--id', 'x-running', '-c', gate.wait]);
    await queue.waitForRunning('x-running');
    await queue.say(['enqueue', '--id', 'x-pending', '--delay', '1h', '-c', 'true']);
    const ids = ['x-done', 'x-running', 'x-pending'];
    // The jobs as they are, but for the running job's lease, which its worker's heartbeat renews meanwhile.
    const snapshot = () => Promise.all(ids.map(async (id) => ({ ...(await queue.inspect(id)), lease_expires_at: null })));
    const before = await snapshot();
    try {
      // x-done comes first each time: the refusal must undo its retry too (all or nothing).
      assertCleanFailure(await queue.run(['retry', 'x-done', 'no-such-job']), { code: 1, message: /no job with id 'no-such-job'/ }, 'an unknown id');
      assertCleanFailure(await queue.run(['retry', 'x-done', 'x-pending']), { code: 1, message: /job 'x-pending' is pending/ }, 'a pending job');
      assertCleanFailure(await queue.run(['retry', 'x-done', 'x-running']), { code: 1, message: /job 'x-running' is processing/ }, 'a running job');
      assertCleanFailure(await queue.run(['retry']), { code: 2, message: /missing required argument 'ids'/ }, 'no id');
      assert.deepEqual(await snapshot(), before, 'nothing changed');
    } finally {
      gate.open();
    }
    await queue.waitForState('x-running', 'completed');
    await queue.say(['cancel', 'x-pending']);
  });
});
