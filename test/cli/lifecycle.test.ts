import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { backends } from '../support/backends';
import { CliSession, type JobJson } from '../support/cli-session';

const ms = (iso: string | null): number => Date.parse(iso!);

for (const backend of backends()) {
  // The tests are independent (each has its own store) and mostly wait on timers, so they run side by side.
  describe(`a job's life through the CLI (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {

    it('runs a job to completed; logs shows its output and show --json its history', async (t) => {
      const s = await CliSession.forTest(t, backend);
      assert.equal(await s.enqueue({ id: 'hello', command: 'echo "hello from $QUEUECTL_JOB_ID"; echo warning >&2' }), 'hello');
      await s.startWorkers(1);
      await s.waitForState('hello', 'completed');

      const logs = await s.run(['logs', 'hello']);
      assert.deepEqual(logs, { code: 0, stdout: 'hello from hello\n', stderr: 'warning\n' });
      assert.deepEqual(await s.json(['logs', 'hello']), { id: 'hello', attempt: 1, truncated: false, stdout: 'hello from hello\n', stderr: 'warning\n' });

      const shown = await s.show('hello');
      assert.equal(shown.state, 'completed');
      assert.equal(shown.attempts, 1);
      assert.equal(shown.exit_code, 0);
      assert.equal(shown.last_error, null);
      assert.equal(shown.history.length, 1);
      const [attempt] = shown.history;
      assert.equal(attempt?.attempt, 1);
      assert.equal(attempt?.outcome, 'exit');
      assert.equal(attempt?.exit_code, 0);
      assert.equal(attempt?.error, null);
      assert.match(attempt?.worker_id ?? '', /^w_/);
      assert.ok(ms(attempt!.started_at) >= ms(shown.created_at) && ms(attempt!.finished_at) >= ms(attempt!.started_at));
      assert.ok(ms(shown.finished_at) >= ms(attempt!.started_at));

      const status = await s.json<Record<string, unknown>>(['status']);
      assert.deepEqual(Object.keys(status).sort(), ['jobs', 'jobs_capped', 'next_run_in_seconds', 'oldest_pending_age_seconds', 'queues', 'store', 'workers']);
      assert.deepEqual(status.jobs, { waiting: 0, pending: 0, processing: 0, completed: 1, failed: 0, dead: 0, cancelled: 0 });
      assert.equal((status.workers as { active: number }).active, 1);
      assert.equal(status.oldest_pending_age_seconds, null);
      assert.deepEqual((await s.json<JobJson[]>(['list', '--state', 'completed'])).map((job) => job.id), ['hello']);
      assert.deepEqual(await s.json(['list', '--state', 'pending']), []);
    });

    it('retries with exponential backoff, then dead letters; dlq retry, retry --all and clear', async (t) => {
      const s = await CliSession.forTest(t, backend);
      await s.configSet('backoff-base', '2');
      await s.configSet('backoff-jitter', '0');
      await s.enqueue({ id: 'flaky', command: 'echo "attempt $QUEUECTL_ATTEMPT"; exit 7', max_retries: 2 });
      await s.enqueue({ id: 'doomed-1', command: 'exit 1', max_retries: 0 });
      await s.enqueue({ id: 'doomed-2', command: 'exit 2', max_retries: 0 });
      await s.startWorkers(1);
      // While it waits for its retry (2 s, then 4 s) status counts it as failed. Starting `status` can take longer than
      // that on a loaded machine, so a count is judged only when the job was still waiting once status answered.
      const countedWhileWaiting = async (attempts: number): Promise<number | null> => {
        const failed = (await s.json<{ jobs: { failed: number } }>(['status'])).jobs.failed;
        const job = await s.store.getJob({ id: 'flaky' });
        return job?.state === 'failed' && job.attempts === attempts ? failed : null;
      };
      await s.waitForJob('flaky', 'to fail once', (job) => job.state === 'failed' && job.attempts === 1);
      let counted = await countedWhileWaiting(1);
      if (counted === null) {
        await s.waitForJob('flaky', 'to fail twice', (job) => job.state === 'failed' && job.attempts === 2);
        counted = await countedWhileWaiting(2);
      }
      assert.equal(counted, 1, 'status counts the job waiting to retry as failed');
      for (const id of ['flaky', 'doomed-1', 'doomed-2']) await s.waitForState(id, 'dead');

      const flaky = await s.show('flaky');
      assert.equal(flaky.attempts, 3);
      assert.equal(flaky.last_error, 'exit code 7');
      assert.deepEqual(flaky.history.map((a) => [a.attempt, a.outcome, a.exit_code]), [[1, 'exit', 7], [2, 'exit', 7], [3, 'exit', 7]]);
      const started = flaky.history.map((a) => ms(a.started_at));
      const finished = flaky.history.map((a) => ms(a.finished_at));
      // backoff-base ^ attempts: 2 s after the first failure, 4 s after the second, counted from when each ended.
      assert.ok(started[1]! - finished[0]! >= 2000, `retry 1 waited ${started[1]! - finished[0]!} ms, at least 2000`);
      assert.ok(started[2]! - finished[1]! >= 4000, `retry 2 waited ${started[2]! - finished[1]!} ms, at least 4000`);
      assert.ok(started[1]! - started[0]! >= 2000 && started[2]! - started[1]! >= 4000);
      assert.equal((await s.run(['logs', 'flaky', '--attempt', '2'])).stdout, 'attempt 2\n');

      const dead = await s.json<JobJson[]>(['dlq', 'list']);
      assert.deepEqual(dead.map((job) => job.id).sort(), ['doomed-1', 'doomed-2', 'flaky']);
      assert.ok(dead.every((job) => job.state === 'dead'));

      // With no worker running, the retried job stays visibly pending.
      await s.ok(['worker', 'stop']);
      assert.match(await s.ok(['dlq', 'retry', 'flaky']), /retried 1 job\(s\): flaky/);
      const retried = await s.show('flaky');
      assert.equal(retried.state, 'pending');
      assert.equal(retried.attempts, 0);
      assert.equal(retried.history.length, 3, 'the history is kept');
      assert.deepEqual((await s.json<JobJson[]>(['dlq', 'list'])).map((job) => job.id).sort(), ['doomed-1', 'doomed-2']);

      assert.deepEqual(await s.json(['dlq', 'retry', '--all']), { retried: ['doomed-1', 'doomed-2'] });
      assert.deepEqual(await s.json(['dlq', 'list']), []);
      for (const id of ['doomed-1', 'doomed-2']) {
        const job = await s.show(id);
        assert.deepEqual([job.state, job.attempts, job.history.length], ['pending', 0, 1]);
      }

      // Let the doomed jobs die again (flaky is cancelled so it does not), then clear the DLQ.
      await s.ok(['cancel', 'flaky']);
      await s.startWorkers(1);
      for (const id of ['doomed-1', 'doomed-2']) await s.waitForState(id, 'dead');
      assert.deepEqual(await s.json(['dlq', 'clear']), { cleared: 2 });
      assert.deepEqual(await s.json(['dlq', 'list']), []);
      assert.equal((await s.run(['show', 'doomed-1'])).code, 1, 'a cleared job is gone');
      assert.equal((await s.show('flaky')).state, 'cancelled', 'dlq clear deletes only dead jobs');
    });

    it('one worker runs higher priority first, equal priority oldest first', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const order = s.path('order.txt');
      const jobs: [string, number][] = [['low-a', 0], ['urgent', 10], ['low-b', 0], ['below', -5], ['mid', 5]];
      for (const [id, priority] of jobs) await s.enqueue({ id, command: `echo ${id} >> ${order}`, priority });
      await s.startWorkers(1);
      for (const [id] of jobs) await s.waitForState(id, 'completed');
      assert.deepEqual(readFileSync(order, 'utf8').trim().split('\n'), ['urgent', 'mid', 'low-a', 'low-b', 'below']);
    });

    it('does not run a delayed job before it is due', async (t) => {
      const s = await CliSession.forTest(t, backend);
      await s.startWorkers(1);
      await s.enqueue({ id: 'delayed', command: 'true', delay: 2 });
      await s.enqueue({ id: 'scheduled', command: 'true', run_at: new Date(Date.now() + 2500).toISOString() });
      await s.enqueue({ id: 'now', command: 'true' });
      await s.waitForState('now', 'completed');
      // The idle worker has had its chance; unless the store's clock already passed their run_at, they still wait.
      for (const id of ['delayed', 'scheduled']) {
        const job = (await s.temp.store.getJob({ id }))!;
        if ((await s.temp.store.now()) < job.runAt) assert.equal(job.state, 'pending', `${id} waits for its run_at`);
      }
      for (const id of ['delayed', 'scheduled']) await s.waitForState(id, 'completed');

      const delayed = await s.show('delayed');
      assert.ok(ms(delayed.run_at) - ms(delayed.created_at) >= 2000, 'delay 2 puts run_at 2 s after the enqueue');
      const scheduled = await s.show('scheduled');
      for (const job of [delayed, scheduled]) {
        assert.equal(job.history.length, 1);
        assert.ok(ms(job.history[0]!.started_at) >= ms(job.run_at), `${job.id} started ${job.history[0]!.started_at}, due ${job.run_at}`);
      }
    });
  });
}
