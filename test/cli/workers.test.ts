import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { currentHost, processStartTime } from '../../src/platform/process-info';
import { spawnEngine } from '../../src/worker/spawn';
import { backends } from '../support/backends';
import { CliSession, type JobJson, type WorkerJson } from '../support/cli-session';
import { processRuns } from '../support/processes';

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');

for (const backend of backends()) {
  describe(`workers (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {

    it('4 background workers run each of 200 jobs exactly once', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const ran = s.path('ran.txt');
      const ids = Array.from({ length: 200 }, (_, i) => `job-${String(i).padStart(3, '0')}`);
      writeFileSync(s.path('jobs.jsonl'), ids.map((id) => JSON.stringify({ id, command: `echo $QUEUECTL_JOB_ID >> ${ran}` })).join('\n'));
      assert.equal(await s.ok(['enqueue', '--file', 'jobs.jsonl']), 'enqueued 200 jobs\n');
      const pids = await s.startWorkers(4);
      assert.equal(new Set(pids).size, 4);
      // Each names how it starts jobs: as this process would, with the same environment and the same addon.
      const engine = spawnEngine();
      assert.deepEqual((await s.json<WorkerJson[]>(['worker', 'list'])).map((worker) => worker.spawn_engine), [engine, engine, engine, engine]);

      await s.waitFor('200 jobs completed', async () => (await s.temp.store.countJobs()).counts.completed === 200, 120_000);
      const written = lines(ran);
      assert.equal(written.length, 200, 'each job ran once');
      assert.equal(new Set(written).size, 200);
      assert.deepEqual([...written].sort(), ids);

      const jobs = await s.json<JobJson[]>(['list', '--limit', '1000']);
      assert.equal(jobs.length, 200);
      assert.deepEqual(jobs.filter((job) => job.state !== 'completed' || job.attempts !== 1), [], 'every job completed at its first attempt');
      const workersUsed = new Set<string>();
      for (const id of ids) for (const attempt of await s.temp.store.listAttempts({ jobId: id })) workersUsed.add(attempt.workerId);
      assert.ok(workersUsed.size > 1, `the jobs were shared between workers (${workersUsed.size} took part)`);

      assert.match(await s.ok(['worker', 'stop']), /stopped 4 worker\(s\)/);
      assert.deepEqual(await s.json(['worker', 'list']), []);
      assert.deepEqual(pids.filter(processRuns), [], 'every worker process exited');
    });

    it('worker stop waits for the running job to finish, then the workers are gone', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const marker = s.path('marker');
      const gate = s.gate();
      await s.enqueue({ id: 'slow', command: `${gate.wait}; echo done > ${marker}` });
      const pids = await s.startWorkers(2);
      await s.waitForRunning('slow');

      let returned = false;
      const stop = s.run(['worker', 'stop']).finally(() => (returned = true));
      await s.waitFor('the busy worker to be asked to stop', async () => {
        const workers = await s.temp.store.listWorkers({ staleAfterMs: 60_000 });
        return workers.length > 0 && workers.every((worker) => worker.stopRequest === 'graceful');
      });
      assert.equal(returned, false, 'worker stop waits while the job runs');
      assert.equal((await s.temp.store.getJob({ id: 'slow' }))?.state, 'processing');
      gate.open();

      assert.deepEqual(await stop, { code: 0, stdout: 'stopped 2 worker(s)\n', stderr: '' });
      assert.equal(readFileSync(marker, 'utf8'), 'done\n', 'the job finished before stop returned');
      assert.equal((await s.show('slow')).state, 'completed');
      assert.deepEqual(await s.json(['worker', 'list']), []);
      assert.deepEqual(pids.filter(processRuns), []);
      assert.equal((await s.json<{ workers: { active: number } }>(['status'])).workers.active, 0);
    });

    it('worker stop --timeout kills a long job and puts it back to pending, not counted', async (t) => {
      const s = await CliSession.forTest(t, backend);
      await s.enqueue({ id: 'long', command: `echo $$ > ${s.path('sh.pid')}; sleep 30 & echo $! > ${s.path('sleep.pid')}; wait` });
      const pids = await s.startWorkers(1);
      await s.waitForRunning('long');
      await s.waitFor('the job to write its pids', () => existsSync(s.path('sleep.pid')) && lines(s.path('sleep.pid')).length > 0);

      const stop = await s.run(['worker', 'stop', '--timeout', '1']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /stopped 1 worker\(s\) \(running jobs were killed and put back to pending\)/);
      const job = await s.show('long');
      assert.equal(job.state, 'pending');
      assert.equal(job.attempts, 0, 'the interrupted attempt does not count');
      assert.deepEqual(job.history.map((a) => a.outcome), ['stopped']);
      assert.deepEqual(pids.filter(processRuns), []);
      const jobPids = [...lines(s.path('sh.pid')), ...lines(s.path('sleep.pid'))].map(Number);
      await s.waitFor('the killed job\'s processes to be gone', () => !jobPids.some(processRuns), 10_000);
    });

    it('jobs persist across worker restarts', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const ran = s.path('ran.txt');
      for (const id of ['a1', 'a2']) await s.enqueue({ id, command: `echo ${id} >> ${ran}` });
      await s.startWorkers(2);
      for (const id of ['a1', 'a2']) await s.waitForState(id, 'completed');
      await s.ok(['worker', 'stop']);

      for (const id of ['b1', 'b2', 'b3']) await s.enqueue({ id, command: `echo ${id} >> ${ran}` });
      const idle = await s.json<{ jobs: Record<string, number>; workers: { active: number } }>(['status']);
      assert.deepEqual([idle.jobs.pending, idle.jobs.completed, idle.workers.active], [3, 2, 0], 'nothing runs without workers');

      await s.startWorkers(2);
      for (const id of ['b1', 'b2', 'b3']) await s.waitForState(id, 'completed');
      assert.deepEqual(lines(ran).sort(), ['a1', 'a2', 'b1', 'b2', 'b3']);
      assert.deepEqual((await s.json<JobJson[]>(['list'])).map((job) => [job.state, job.attempts]), Array(5).fill(['completed', 1]));
    });

    it('worker list shows a gone worker as gone, and leaves its registration alone', async (t) => {
      const s = await CliSession.forTest(t, backend);
      // Registrations made here, with no worker running (whose reaper would remove the gone one): one whose process
      // exited without deregistering (a kill -9), and one whose process runs.
      const exited = spawnSync('true').pid!;
      const running = spawn('sleep', ['60'], { stdio: 'ignore' });
      t.after(() => running.kill('SIGKILL'));
      // Nothing heartbeats for them: a long stale limit keeps the running one alive however slow the machine is.
      await s.temp.store.setConfig({ key: 'lease-timeout', value: '3600' });
      const host = currentHost();
      await s.temp.store.registerWorker({ worker: { id: 'w-gone', host, pid: exited, pidStart: null }, concurrency: 1, queues: null });
      await s.temp.store.registerWorker({ worker: { id: 'w-alive', host, pid: running.pid!, pidStart: processStartTime(running.pid!) }, concurrency: 1, queues: null });
      const registered = async () => (await s.temp.store.listWorkers({ staleAfterMs: 60_000 })).map((worker) => worker.id).sort();

      for (let round = 0; round < 2; round++) {
        const listed = await s.json<WorkerJson[]>(['worker', 'list']);
        assert.deepEqual(listed.map((worker) => `${worker.id} ${worker.state}`).sort(), ['w-alive idle', 'w-gone gone'], `round ${round}`);
        assert.deepEqual(await registered(), ['w-alive', 'w-gone'], `worker list removed nothing (round ${round})`);
      }
      const status = await s.json<{ workers: { active: number } }>(['status']);
      assert.equal(status.workers.active, 1, 'status counts alive workers by the same rule');
      for (const workerId of ['w-alive', 'w-gone']) await s.temp.store.removeWorker({ workerId });
    });

    it('worker start --foreground: one SIGINT finishes the job, then exits', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const marker = s.path('marker');
      const gate = s.gate();
      const foreground = s.start(['worker', 'start', '--foreground']);
      await s.waitFor('the foreground worker to register', async () => (await s.temp.store.listWorkers({ staleAfterMs: 60_000 })).length === 1);
      await s.enqueue({ id: 'fg', command: `${gate.wait}; echo done > ${marker}` });
      // Its log is its stderr: shown should the job not start.
      await s.waitForRunning('fg').catch((err: Error) => assert.fail(`${err.message}\nforeground stderr:\n${foreground.output().stderr}`));

      foreground.child.kill('SIGINT');
      await s.waitFor('the SIGINT to be handled', () => /stopping after the running jobs finish/.test(foreground.output().stderr));
      assert.equal(foreground.child.exitCode, null, 'still running while its job runs');
      gate.open();
      assert.equal(await foreground.exited, 0, foreground.output().stderr);
      assert.equal(readFileSync(marker, 'utf8'), 'done\n');
      assert.equal((await s.show('fg')).state, 'completed');
      assert.deepEqual(await s.json(['worker', 'list']), []);
    });

    it('worker start --foreground: a second SIGINT kills the job and puts it back', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const foreground = s.start(['worker', 'start', '--foreground', '--count', '2']);
      await s.waitFor('the foreground workers to register', async () => (await s.temp.store.listWorkers({ staleAfterMs: 60_000 })).length === 2);
      await s.enqueue({ id: 'fg', command: `echo $$ > ${s.path('sh.pid')}; sleep 30` });
      await s.waitForRunning('fg');
      await s.waitFor('the job to write its pid', () => existsSync(s.path('sh.pid')) && lines(s.path('sh.pid')).length > 0);

      foreground.child.kill('SIGINT');
      await s.waitFor('the first SIGINT to be handled', () => /stopping after/.test(foreground.output().stderr));
      foreground.child.kill('SIGINT');
      assert.equal(await foreground.exited, 0, foreground.output().stderr);
      assert.match(foreground.output().stderr, /killing running jobs; they go back to pending/);
      const job = await s.show('fg');
      assert.deepEqual([job.state, job.attempts], ['pending', 0]);
      assert.deepEqual(job.history.map((a) => a.outcome), ['stopped']);
      assert.equal(processRuns(Number(lines(s.path('sh.pid'))[0])), false, 'the job was killed');
      assert.deepEqual(await s.json(['worker', 'list']), []);
    });
  });
}
