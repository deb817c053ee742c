import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';
import { waitFor } from '../../support/wait-for';

const NO_WORKER = 'queuectl: no worker is running; start one with queuectl worker start\n';

/** Issue 13: waiting on a job with no worker running is never silent. */
describe('waiting without a worker', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  before(() => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db') };
  });
  after(() => dir.cleanup());

  it('enqueue --wait prints the id, says once that no worker runs, and on Ctrl+C leaves the job queued', async () => {
    const waiting = startCli(target, ['enqueue', '--id', 'w1', '-c', 'true', '--wait']);
    await waitFor('the no-worker notice', () => waiting.output().stderr.includes(NO_WORKER));
    assert.match(waiting.output().stderr, /^queuectl: job w1 enqueued; waiting for it/);
    waiting.child.kill('SIGINT');
    assert.equal(await waiting.exited, 130);
    assert.match(waiting.output().stderr, /job w1 stays queued \(cancel it with: queuectl cancel w1\)\n$/);
    assert.equal(waiting.output().stderr.split(NO_WORKER).length, 2, 'said once');
    const job = JSON.parse((await runCli(target, ['show', 'w1', '--json'])).stdout) as { job?: { state: string }; state?: string };
    assert.equal(job.job?.state ?? job.state, 'pending');
  });

  it('wait and logs --follow say so too, and keep waiting', async () => {
    const waited = await runCli(target, ['wait', 'w1', '--timeout', '1s']);
    assert.equal(waited.code, 124);
    assert.ok(waited.stderr.startsWith(NO_WORKER), waited.stderr);
    const follow = startCli(target, ['logs', 'w1', '--follow']);
    await waitFor('the no-worker notice', () => follow.output().stderr.includes(NO_WORKER));
    follow.child.kill('SIGTERM');
    await follow.exited;
  });
});
