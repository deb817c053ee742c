import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { backends } from '../support/backends';
import { CliSession, type WorkerJson } from '../support/cli-session';
import { processRuns } from '../support/processes';
import { loggingJob } from '../support/overlap-job';

const lines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line !== '') : []);


for (const backend of backends()) {
  describe(`crash recovery (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {

    const killOwnerMidJob = async (t: TestContext, when: 'recorded' | 'started') => {
      const s = await CliSession.forTest(t, backend);
      // On its own host a dead worker is noticed at once; should that ever fail, the lease running out still recovers
      // the job. A short lease bounds that fallback without risking an expiry while the worker is alive.
      await s.configSet('lease-timeout', '5');
      const log = s.path('job.log');
      writeFileSync(s.path('job.sh'), loggingJob(log));
      await s.enqueue({ id: 'victim', command: `sh ${s.path('job.sh')}`, max_retries: 3 });
      await s.startWorkers(2);
      // 'recorded': the worker has written the job's process group to the store. 'started': the kill comes as soon as
      // the job runs, mostly before that write (a worker makes it only for jobs that outlive 100 ms), so the reaper
      // has to find the old processes by the attempt marker in their environment.
      if (when === 'recorded') await s.waitForRunning('victim');
      await s.waitFor('the first attempt to start its sleep', () => lines(log).some((line) => line.startsWith('child ')));

      // Asked of the store in-process: a CLI call would take longer than the 100 ms before the record.
      const ownerId = (await s.temp.store.getJob({ id: 'victim' }))?.workerId;
      const owner = (await s.temp.store.listWorkers({ staleAfterMs: 60_000 })).find((worker) => worker.id === ownerId);
      assert.ok(owner, 'a worker holds the job');
      process.kill(owner.pid, 'SIGKILL');
      await s.waitForState('victim', 'completed');

      const job = await s.show('victim');
      assert.equal(job.attempts, 2);
      assert.deepEqual(job.history.map((a) => a.outcome), ['worker_lost', 'exit']);
      assert.equal(job.history[0]!.worker_id, owner.id);
      assert.match(job.history[0]!.error ?? '', /worker lost/);
      assert.notEqual(job.history[1]!.worker_id, owner.id);

      const events = lines(log).map((line) => line.split(' ') as [string, string]);
      const first = events.filter(([, pid]) => pid === events[0]![1] || pid === events[1]![1]);
      assert.deepEqual(first.map(([what]) => what), ['start', 'child'], 'the first attempt never ended on its own');
      assert.deepEqual(events.filter(([what]) => what === 'overlap'), [], 'no process of the first attempt ran when the second started');
      assert.deepEqual(events.slice(2).map(([what]) => what), ['start', 'child', 'end'], `log: ${JSON.stringify(events)}`);
      assert.equal(events[4]![1], events[2]![1], 'the second attempt is the one that ended');
      assert.deepEqual(first.map(([, pid]) => Number(pid)).filter(processRuns), [], 'the first attempt\'s processes are gone');

      await s.waitFor('the killed worker to be deregistered', async () => {
        const workers = await s.temp.store.listWorkers({ staleAfterMs: 60_000 });
        return !workers.some((worker) => worker.id === owner.id);
      });
      const workers = await s.json<WorkerJson[]>(['worker', 'list']);
      assert.deepEqual(workers.map((worker) => worker.id), [job.history[1]!.worker_id], 'only the surviving worker is listed');
    };

    it('a job whose worker is killed with SIGKILL is recovered, its old processes killed, and run again once', (t) => killOwnerMidJob(t, 'recorded'));
    it('the same when the worker is killed before it recorded the job\'s process group', (t) => killOwnerMidJob(t, 'started'));

    it('a timeout kills the whole process tree, not only the shell', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const pids = s.path('pids');
      await s.enqueue({
        id: 'tree',
        command: `echo $$ >> ${pids}; sh -c 'sleep 30 & echo $! >> ${pids}; sleep 30 & echo $! >> ${pids}; wait'`,
        timeout: 1,
        max_retries: 0,
      });
      await s.startWorkers(1);
      await s.waitForState('tree', 'dead');

      const job = await s.show('tree');
      assert.equal(job.history.length, 1);
      assert.equal(job.history[0]!.outcome, 'timeout');
      assert.equal(job.history[0]!.error, 'timed out after 1s');
      assert.equal(job.last_error, 'timed out after 1s');
      const started = lines(pids).map(Number);
      assert.equal(started.length, 3, 'the shell and both sleeps wrote their pids');
      await s.waitFor('every process of the timed-out job to be gone', () => !started.some(processRuns), 10_000);
      assert.deepEqual(await s.json(['dlq', 'list']).then((jobs) => (jobs as { id: string }[]).map((j) => j.id)), ['tree']);
    });
  });
}
