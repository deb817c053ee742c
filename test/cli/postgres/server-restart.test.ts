import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CliSession, readLines } from '../../support/cli-session';
import { processRuns } from '../../support/processes';
import { postgresBackend } from '../../support/temp-postgres';
import { PrivateServer, privateServerSkipReason } from './private-server';

const JOBS = 300;
const WORKERS = 4;

/**
 * Where a job's runs start and end, in the order they happened (one file every run appends to), checked for
 * concurrent runs of one job. A run killed mid-way never writes its end; the flock each run holds until its last
 * process dies covers those: a run that finds the lock taken writes `overlap`.
 */
function concurrentRuns(lines: string[]): string[] {
  const events = lines.map((line) => {
    const [kind, id, pid] = line.split(' ') as [string, string, string];
    return { kind, id, run: `${id}/${pid}` };
  });
  const ended = new Set(events.filter((event) => event.kind === 'end').map((event) => event.run));
  const open = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const { kind, id, run } of events) {
    const runs = open.get(id) ?? new Set<string>();
    open.set(id, runs);
    if (kind === 'overlap') problems.push(`${run} found another run of ${id} holding its lock`);
    if (kind === 'start') {
      for (const other of runs) if (ended.has(other)) problems.push(`${run} started while ${other} was running`);
      runs.add(run);
    }
    if (kind === 'end') runs.delete(run);
  }
  return problems;
}

// Its own server, so stopping it cannot break the other PostgreSQL tests, which may be running meanwhile.
describe('PostgreSQL: the server restarts in the middle of a run', { skip: privateServerSkipReason() }, () => {
  let server: PrivateServer | undefined;
  let session: CliSession | undefined;
  before(async () => {
    server = await PrivateServer.create();
    session = await CliSession.open(postgresBackend(server.url));
  });
  after(async () => {
    try {
      // Workers can only be told to stop through a running server.
      await server?.start();
      await session?.close();
    } finally {
      await server?.destroy();
    }
  });

  it(`${WORKERS} workers reconnect; all ${JOBS} jobs complete, none lost, none run twice at once`, async () => {
    const s = session!;
    const log = s.path('runs.log');
    const locks = s.path('locks');
    mkdirSync(locks);
    // A short lease keeps the wait for a claim whose reply was lost short; the outage stays well within it.
    await s.store.setConfig({ key: 'lease-timeout', value: '5' });
    await s.store.setConfig({ key: 'backoff-base', value: '1' });
    const ids = Array.from({ length: JOBS }, (_, i) => `r${String(i).padStart(3, '0')}`);
    const command =
      `exec 9>>${locks}/$QUEUECTL_JOB_ID; ` +
      `if flock -n 9; then echo "start $QUEUECTL_JOB_ID $$" >> ${log}; sleep 0.05; echo "end $QUEUECTL_JOB_ID $$" >> ${log}; ` +
      `else echo "overlap $QUEUECTL_JOB_ID $$" >> ${log}; fi`;
    await s.enqueueMany(ids.map((id) => ({ id, command, max_retries: 5 })));
    const pids = await s.startWorkers(WORKERS);

    const endedBefore = (await s.waitFor('the run to get going', () => {
      const ends = readLines(log).filter((line) => line.startsWith('end ')).length;
      return ends >= JOBS / 10 ? ends : null;
    }, 30_000));
    const logOffset = s.workerLog().length;
    await server!.stop('fast');
    try {
      await s.waitFor('a worker to notice the server is gone', () => /failed: /.test(s.workerLog().slice(logOffset)), 10_000);
    } finally {
      await server!.start();
    }
    const { counts } = await s.waitFor('the store to answer again', () => s.store.countJobs(), 10_000);
    assert.ok(counts.completed < JOBS, `the restart came mid-run (${counts.completed} of ${JOBS} done, ${endedBefore} when it began)`);

    const done = await s.waitFor(`all ${JOBS} jobs to finish`, async () => {
      const { counts } = await s.store.countJobs();
      return counts.completed + counts.dead + counts.cancelled === JOBS ? counts : null;
    }, 60_000);
    assert.equal(done.completed, JOBS, `every job completed: ${JSON.stringify(done)}`);

    const lines = readLines(log);
    assert.deepEqual(concurrentRuns(lines), [], 'no job ran twice at once');
    const finished = new Set(lines.filter((line) => line.startsWith('end ')).map((line) => line.split(' ')[1]));
    assert.deepEqual(ids.filter((id) => !finished.has(id)), [], 'every job ran to its end');

    for (const pid of pids) assert.ok(processRuns(pid), `worker pid ${pid} survived the restart`);
    const workers = await s.json<{ pid: number; state: string }[]>(['worker', 'list']);
    assert.deepEqual(workers.map((worker) => worker.pid).sort(), [...pids].sort(), 'every worker is still registered');
  });

  it('idle workers ride out an outage longer than their poll interval and their lease, then take new jobs', async () => {
    const s = session!;
    // Two workers of its own; those the previous test left (idle too) must come through as well.
    await s.startWorkers(2);
    const workers = await s.store.listWorkers({ staleAfterMs: 60_000 });
    const pids = workers.map((worker) => worker.pid).sort();
    const logOffset = s.workerLog().length;
    const sinceStop = () => s.workerLog().slice(logOffset);
    await server!.stop('fast');
    try {
      // An idle worker claims at least every 5 s, the lease is 5 s: once every worker has failed a claim, each met the
      // outage idle, and every heartbeat looks stale to the others when the server is back.
      await s.waitFor('every idle worker to fail a claim', () => workers.every((worker) => sinceStop().includes(`${worker.id} claim failed: `)), 20_000);
    } finally {
      await server!.start();
    }
    for (const pid of pids) assert.ok(processRuns(pid), `worker pid ${pid} survived the outage; worker log:\n${sinceStop().slice(0, 6000)}`);
    await s.waitFor('every worker to be registered again', async () => {
      const registered = await s.store.listWorkers({ staleAfterMs: 60_000 });
      return pids.every((pid) => registered.some((worker) => worker.pid === pid));
    });

    // No retries: a job that a peer wrongly took for lost would end dead.
    const ids = Array.from({ length: 8 }, (_, i) => `after-outage-${i}`);
    await s.enqueueMany(ids.map((id) => ({ id, command: 'true', max_retries: 0 })));
    for (const id of ids) {
      const job = await s.waitForEnd(id);
      const attempts = await s.store.listAttempts({ jobId: id });
      assert.deepEqual([job.state, ...attempts.map((attempt) => attempt.outcome)], ['completed', 'exit'], `${id}: ${JSON.stringify(attempts)}`);
    }
    const listed = await s.json<{ pid: number; state: string }[]>(['worker', 'list']);
    assert.deepEqual(listed.map((worker) => worker.pid).sort(), pids, 'worker list shows every worker');
  });
});
