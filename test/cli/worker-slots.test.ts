import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Attempt } from '../../src/core/job';
import { backends } from '../support/backends';
import { assertCleanFailure, CliSession, readLines, type WorkerJson } from '../support/cli-session';
import { processRuns } from '../support/processes';
import { runCli } from '../support/run-cli';
import { tempDir } from '../support/temp-store';
import { loggingJob } from '../support/overlap-job';

/** The pid a job wrote to `path`, once it has. */
const pidIn = (path: string): number | null => {
  const text = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
  return text === '' ? null : Number(text);
};

/**
 * The most attempts that ever held a slot at once, by the store's record of them: a slot is taken at the claim
 * (started_at) and given back at the report (finished_at). A report that claims the slot's next job does both in one
 * write, at one time: ends sort before starts.
 */
function mostAtOnce(attempts: Attempt[]): number {
  const events = attempts.flatMap((a): [number, number][] => [[a.startedAt, 1], [a.finishedAt ?? Infinity, -1]]);
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let running = 0;
  let most = 0;
  for (const [, change] of events) most = Math.max(most, (running += change));
  return most;
}


/** A job that writes the pid of its `sleep 300` to `<id>.pid` in the scratch directory and waits for it. */
const sleeper = (s: CliSession, id: string) => ({ id, command: `sleep 300 & echo $! > ${s.path(`${id}.pid`)}; wait`, max_retries: 3 });

for (const backend of backends()) {
  describe(`a worker with several slots (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {
    it('runs up to --concurrency jobs at once; fast, slow, failing and timing-out jobs each end as they should', async (t) => {
      const s = await CliSession.forTest(t, backend);
      await s.setConfig({ 'backoff-base': '1', 'backoff-jitter': '0' });
      const gate = s.gate();
      const gated = ['g1', 'g2', 'g3', 'g4'];
      const fast = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
      const slow = ['s1', 's2'];
      const failing = ['x1', 'x2'];
      const timingOut = ['t1', 't2'];
      await s.enqueueMany([
        ...gated.map((id) => ({ id, command: gate.wait, priority: 10 })),
        ...fast.map((id) => ({ id, command: 'true' })),
        ...slow.map((id) => ({ id, command: 'sleep 1' })),
        ...failing.map((id) => ({ id, command: 'exit 3', max_retries: 1 })),
        ...timingOut.map((id) => ({ id, command: `sleep 30 & echo $! > ${s.path(`${id}.pid`)}; wait`, timeout: 1, max_retries: 0 })),
      ]);
      await s.startWorkers(1, { concurrency: 4 });

      const running = await s.waitFor('the four gated jobs to run at once', async () => {
        const jobs = await s.store.listJobs({ states: ['processing'], limit: 10 });
        return jobs.length === 4 ? jobs.map((job) => job.id).sort() : null;
      });
      assert.deepEqual(running, gated);
      const [listed] = await s.json<WorkerJson[]>(['worker', 'list']);
      assert.deepEqual([listed?.state, listed?.concurrency, [...(listed?.running_jobs ?? [])].sort()], ['busy', 4, gated]);
      assert.equal((await s.store.listJobs({ states: ['pending'], limit: 20 })).length, 12, 'no fifth job started while four run');
      gate.open();

      const all = [...gated, ...fast, ...slow, ...failing, ...timingOut];
      for (const id of all) await s.waitForEnd(id);
      for (const id of [...gated, ...fast, ...slow]) assert.equal((await s.inspect(id)).state, 'completed', id);
      for (const id of failing) {
        const job = await s.inspect(id);
        assert.deepEqual([job.state, job.history.map((a) => [a.outcome, a.exit_code])], ['dead', [['exit', 3], ['exit', 3]]], id);
      }
      for (const id of timingOut) {
        const job = await s.inspect(id);
        assert.deepEqual([job.state, job.history.map((a) => a.outcome)], ['dead', ['timeout']], id);
        const pid = pidIn(s.path(`${id}.pid`));
        assert.ok(pid !== null, `${id} wrote its sleep's pid`);
        await s.waitFor(`the sleep of ${id} to be gone`, () => !processRuns(pid), 10_000);
      }
      const attempts = (await Promise.all(all.map((id) => s.store.listAttempts({ jobId: id })))).flat();
      assert.equal(new Set(attempts.map((a) => a.workerId)).size, 1, 'one worker process ran them all');
      assert.equal(mostAtOnce(attempts), 4, 'never more than four at once, and four at once at first');
      const log = s.workerLog();
      for (const id of all) assert.equal(log.split('\n').filter((line) => line.includes(` started ${id} attempt `)).length, failing.includes(id) ? 2 : 1, id);
    });

    const killOwnerOfSeveral = async (t: TestContext, when: 'recorded' | 'started') => {
      const s = await CliSession.forTest(t, backend);
      // Same-host recovery is at once; a short lease only bounds the fallback should that fail.
      await s.configSet('lease-timeout', '5');
      const ids = ['v1', 'v2', 'v3'];
      for (const id of ids) writeFileSync(s.path(`${id}.sh`), loggingJob(s.path(`${id}.log`)));
      await s.enqueueMany(ids.map((id) => ({ id, command: `sh ${s.path(`${id}.sh`)}`, max_retries: 3 })));
      const [owner] = await s.startWorkers(1, { concurrency: 3 });
      // 'recorded': every job's process group is in the store. 'started': the kill comes as soon as each job runs,
      // mostly before those writes, so the reaper finds the old processes by their attempt marker.
      if (when === 'recorded') for (const id of ids) await s.waitForRunning(id);
      for (const id of ids) await s.waitFor(`${id} to start its sleep`, () => readLines(s.path(`${id}.log`)).some((line) => line.startsWith('child ')));
      const ownerId = (await s.store.getJob({ id: 'v1' }))?.workerId;
      for (const id of ids) assert.equal((await s.store.getJob({ id }))?.workerId, ownerId, `${id} is held by the one worker`);
      process.kill(owner!, 'SIGKILL');

      // A new worker on this host recovers them at once (their worker's process is gone) and runs them again.
      await s.startWorkers(1, { concurrency: 3 });
      for (const id of ids) await s.waitForState(id, 'completed');
      for (const id of ids) {
        const job = await s.inspect(id);
        assert.deepEqual(job.history.map((a) => a.outcome), ['worker_lost', 'exit'], `${id}: recovered once, then run once`);
        assert.equal(job.history[0]!.worker_id, ownerId);
        assert.notEqual(job.history[1]!.worker_id, ownerId);
        const events = readLines(s.path(`${id}.log`)).map((line) => line.split(' ') as [string, string]);
        assert.deepEqual(events.map(([what]) => what), ['start', 'child', 'start', 'child', 'end'], `${id} log: ${JSON.stringify(events)}`);
        assert.deepEqual(events.filter(([what]) => what === 'overlap'), [], `${id}: no process of its first attempt ran when the second started`);
        const first = events.slice(0, 2).map(([, pid]) => Number(pid));
        assert.deepEqual(first.filter(processRuns), [], `${id}: the first attempt's processes are gone`);
      }
    };

    it('a worker killed with SIGKILL holding several jobs: each is recovered once, its old processes killed first', (t) => killOwnerOfSeveral(t, 'recorded'));
    it('the same when it is killed before it recorded their process groups', (t) => killOwnerOfSeveral(t, 'started'));

    it('worker stop lets a full worker finish every job in hand, and starts no other', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const gate = s.gate();
      const held = ['a', 'b', 'c'];
      await s.enqueueMany([
        ...held.map((id) => ({ id, command: `${gate.wait}; echo done > ${s.path(`${id}.done`)}`, priority: 1 })),
        { id: 'later', command: 'true' },
      ]);
      const [pid] = await s.startWorkers(1, { concurrency: 3 });
      for (const id of held) await s.waitForRunning(id);

      let returned = false;
      const stop = s.run(['worker', 'stop']).finally(() => (returned = true));
      await s.waitFor('the worker to be asked to stop', async () => (await s.store.listWorkers({ staleAfterMs: 60_000 }))[0]?.stopRequest === 'graceful');
      assert.equal(returned, false, 'worker stop waits while the jobs run');
      gate.open();
      assert.deepEqual(await stop, { code: 0, stdout: 'stopped 1 worker(s)\n', stderr: '' });
      for (const id of held) {
        assert.equal(readFileSync(s.path(`${id}.done`), 'utf8'), 'done\n', `${id} finished before stop returned`);
        assert.equal((await s.inspect(id)).state, 'completed');
      }
      assert.deepEqual([(await s.inspect('later')).state, (await s.inspect('later')).history], ['pending', []], 'no job started after the stop');
      assert.equal(processRuns(pid!), false);
    });

    it('worker stop --timeout kills every job of a full worker and puts them all back, not counted', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const held = ['a', 'b', 'c'];
      await s.enqueueMany(held.map((id) => sleeper(s, id)));
      const [pid] = await s.startWorkers(1, { concurrency: 3 });
      for (const id of held) await s.waitFor(`${id} to start its sleep`, () => pidIn(s.path(`${id}.pid`)));
      const sleeps = held.map((id) => pidIn(s.path(`${id}.pid`))!);

      const stop = await s.run(['worker', 'stop', '--timeout', '1']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /stopped 1 worker\(s\) \(running jobs were killed and put back to pending\)/);
      for (const id of held) {
        const job = await s.inspect(id);
        assert.deepEqual([job.state, job.attempts, job.history.map((a) => a.outcome)], ['pending', 0, ['stopped']], id);
      }
      assert.equal(processRuns(pid!), false);
      await s.waitFor('the killed jobs\' processes to be gone', () => !sleeps.some(processRuns), 10_000);
    });

    it('cancel of one of several running jobs kills only that one', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const held = ['a', 'b', 'c'];
      await s.enqueueMany(held.map((id) => sleeper(s, id)));
      await s.startWorkers(1, { concurrency: 3 });
      for (const id of held) await s.waitFor(`${id} to start its sleep`, () => pidIn(s.path(`${id}.pid`)));
      const sleeps = Object.fromEntries(held.map((id) => [id, pidIn(s.path(`${id}.pid`))!]));

      assert.match(await s.ok(['cancel', 'b']), /b {2}running: its worker sends SIGTERM/);
      await s.waitForState('b', 'cancelled');
      await s.waitFor('the cancelled job\'s sleep to be gone', () => !processRuns(sleeps.b!));
      const listed = await s.json<WorkerJson[]>(['worker', 'list']);
      assert.deepEqual([...(listed[0]?.running_jobs ?? [])].sort(), ['a', 'c']);
      for (const id of ['a', 'c']) {
        assert.equal((await s.store.getJob({ id }))?.state, 'processing', `${id} runs on`);
        assert.equal(processRuns(sleeps[id]!), true, `${id}'s sleep runs on`);
      }
      assert.deepEqual((await s.inspect('b')).history.map((a) => [a.outcome, a.signal]), [['cancelled', 'SIGTERM']]);
    });

    it('worker list and status show the slots in use (busy 3/4) and every running job', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const gate = s.gate();
      const held = ['job-a', 'job-b', 'job-c'];
      await s.enqueueMany(held.map((id) => ({ id, command: gate.wait })));
      const [pid] = await s.startWorkers(1, { concurrency: 4, queue: 'default,other' });
      for (const id of held) await s.waitForRunning(id);

      const [workerId] = (await s.store.listWorkers({ staleAfterMs: 60_000 })).map((worker) => worker.id);
      const table = (await s.ok(['worker', 'list'])).split('\n');
      assert.match(table[0]!, /^ID +PID +HOST +STATE +QUEUES +LAST HEARTBEAT +JOBS$/);
      assert.match(table[1]!, new RegExp(`^${workerId} +${pid} +\\S+ +busy 3/4 +default,other +.+ago +(job-\\w ?){3}$`));
      for (const id of held) assert.ok(table[1]!.includes(id), `worker list names ${id}`);

      const status = await s.ok(['status']);
      assert.match(status, /^Workers: 1 active, 1 busy, 3\/4 slots in use \(/m);
      const line = status.split('\n').find((text) => text.includes(workerId!));
      assert.match(line ?? '', new RegExp(`^  ${workerId} \\(\\S+ pid ${pid}\\) busy 3/4 queues default,other: (job-\\w ?){3}$`));
      const json = await s.json<{ workers: { slots_in_use: number; slots: number; list: WorkerJson[] } }>(['status']);
      assert.deepEqual([json.workers.slots_in_use, json.workers.slots, json.workers.list.map((w) => [...w.running_jobs].sort())], [3, 4, [held]]);
      gate.open();
      for (const id of held) await s.waitForState(id, 'completed');
    });

    it('--queue: a worker takes only jobs of the queues it serves', async (t) => {
      const s = await CliSession.forTest(t, backend);
      await s.enqueueMany([
        { id: 'mail-1', command: 'true', queue: 'mail' },
        { id: 'video-1', command: 'true', queue: 'video' },
        { id: 'other-1', command: 'true', queue: 'other', priority: 5 },
        { id: 'plain-1', command: 'true', priority: 5 },
      ]);
      await s.startWorkers(1, { concurrency: 2, queue: 'mail,video' });
      await s.waitForState('mail-1', 'completed');
      await s.waitForState('video-1', 'completed');
      // Finished through the worker's loop after the claims above: had it taken the others, they would be done too.
      await s.enqueue({ id: 'mail-2', command: 'true', queue: 'mail' });
      await s.waitForState('mail-2', 'completed');
      assert.deepEqual([(await s.inspect('other-1')).state, (await s.inspect('plain-1')).state], ['pending', 'pending']);
      const [listed] = await s.json<WorkerJson[]>(['worker', 'list']);
      assert.deepEqual(listed?.queues, ['mail', 'video']);
    });
  });
}

describe('worker start: bad --concurrency and --queue', { concurrency: true }, () => {
  const cases: [string[], RegExp][] = [
    [['--concurrency', '0'], /--concurrency: expected a whole number of jobs from 1 to 1000, got 0/],
    [['--concurrency', '-2'], /--concurrency: expected a whole number of jobs from 1 to 1000, got -2/],
    [['--concurrency', '1001'], /--concurrency: expected a whole number of jobs from 1 to 1000, got 1001/],
    [['--concurrency', 'four'], /--concurrency: expected a whole number, got 'four'/],
    [['--concurrency', '2.5'], /--concurrency: expected a whole number, got '2.5'/],
    [['--queue', ''], /--queue: expected queue names separated by commas/],
    [['--queue', 'mail,,video'], /--queue: expected queue names separated by commas/],
    [['--queue', 'bad name'], /--queue: "bad name" is not a valid queue name/],
    [['--queue=-x'], /--queue: "-x" is not a valid queue name/],
  ];
  for (const [i, [args, message]] of cases.entries()) {
    // Every case through `worker start`; the first of each flag through the foreground forms too.
    const forms = i === 0 || i === 5 ? [['worker', 'start'], ['worker', 'start', '--foreground'], ['worker-run']] : [['worker', 'start']];
    for (const command of forms) {
      it(`${command.join(' ')} ${args.join(' ')}: one line, exit 2, no store made`, async (t) => {
        const dir = tempDir();
        t.after(dir.cleanup);
        const location = join(dir.dir, 'queue.db');
        const result = await runCli({ location, cwd: dir.dir }, [...command, ...args]);
        assertCleanFailure(result, { code: 2, message }, `${command.join(' ')} ${args.join(' ')}`);
        assert.equal(existsSync(location), false, 'nothing was created');
      });
    }
  }
});
