import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pgSkipReason, postgresBackend } from '../../support/temp-postgres';
import { CliSession, readLines } from '../../support/cli-session';
import { processRuns, signalQuietly } from '../../support/processes';

interface WorkerJson {
  id: string;
  pid: number;
  host: string;
  state: string;
}
interface AttemptJson {
  attempt: number;
  worker_id: string;
  host: string;
  outcome: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}
interface ShownJob {
  id: string;
  state: string;
  attempts: number;
  history: AttemptJson[];
}

const hostsOf = (workers: WorkerJson[]) => workers.map((worker) => worker.host).sort();

describe('PostgreSQL: workers on several hosts', { skip: pgSkipReason() }, () => {
  let session: CliSession;
  beforeEach(async () => {
    session = await CliSession.open(postgresBackend());
  });
  afterEach(async () => {
    await session?.close();
  });

  it('lists and counts workers per host, and `worker stop --host` stops only that host', async () => {
    // b starts first and takes a job that runs until the test opens its gate: b is busy while a is stopped.
    const onB = await session.startWorkers(2, { host: 'b' });
    const gate = session.path('gate');
    await session.ok(['enqueue', JSON.stringify({ id: 'long-on-b', command: `while [ ! -e ${gate} ]; do sleep 0.02; done`, max_retries: 0 })]);
    await session.waitForRunning('long-on-b');
    const onA = await session.startWorkers(2, { host: 'a' });

    const listed = await session.json<WorkerJson[]>(['worker', 'list']);
    assert.deepEqual(hostsOf(listed), ['a', 'a', 'b', 'b']);
    assert.ok(listed.every((worker) => worker.state !== 'gone'), `all alive: ${JSON.stringify(listed)}`);
    assert.deepEqual(listed.filter((w) => w.host === 'a').map((w) => w.pid).sort(), [...onA].sort());
    assert.deepEqual(listed.filter((w) => w.host === 'b').map((w) => w.pid).sort(), [...onB].sort());
    const bIds = listed.filter((w) => w.host === 'b').map((w) => w.id);
    const status = await session.json<{ workers: { active: number; busy: number; by_host: Record<string, number> } }>(['status']);
    assert.equal(status.workers.active, 4);
    assert.deepEqual(status.workers.by_host, { a: 2, b: 2 });

    const stopped = await session.ok(['worker', 'stop', '--host', 'a', '--timeout', '5']);
    assert.match(stopped, /stopped 2 worker\(s\)/);
    assert.doesNotMatch(stopped, /killed/, 'a had nothing running: a graceful stop');
    // Seen from another host, "stopped" means deregistered: a's processes exit just after, so poll for that.
    await session.waitFor("a's worker processes to exit", () => onA.every((pid) => !processRuns(pid)));
    for (const pid of onB) assert.equal(processRuns(pid), true, `worker pid ${pid} on b still runs`);
    const left = await session.json<WorkerJson[]>(['worker', 'list']);
    assert.deepEqual(hostsOf(left), ['b', 'b']);
    assert.ok(left.every((worker) => worker.state === 'idle' || worker.state === 'busy'), `b was not asked to stop: ${JSON.stringify(left)}`);
    assert.deepEqual((await session.json<{ workers: { by_host: Record<string, number> } }>(['status'])).workers.by_host, { b: 2 });

    // b keeps taking jobs enqueued after the stop (its idle worker), and finishes the one it was running.
    const after = Array.from({ length: 6 }, (_, i) => `after-stop-${i}`);
    await session.enqueueMany(after.map((id) => ({ id, command: `echo "$QUEUECTL_JOB_ID" >> ${session.path('after.txt')}`, max_retries: 0 })));
    for (const id of after) {
      await session.waitForState(id, 'completed');
      const history = await session.store.listAttempts({ jobId: id });
      assert.deepEqual(history.map((attempt) => attempt.host), ['b'], `${id} ran once, on b`);
      assert.ok(bIds.includes(history[0]!.workerId), `${id} ran on one of b's workers`);
    }
    assert.deepEqual(readLines(session.path('after.txt')).sort(), after.sort());
    writeFileSync(gate, '');
    await session.waitForState('long-on-b', 'completed');
    const long = await session.json<ShownJob>(['show', 'long-on-b']);
    assert.deepEqual(long.history.map((attempt) => [attempt.host, attempt.outcome]), [['b', 'exit']]);
  });

  it('recovers the job of a lost host only once its lease runs out (no same-host shortcut), as worker_lost', async () => {
    await session.store.setConfig({ key: 'lease-timeout', value: '2' });
    await session.store.setConfig({ key: 'backoff-base', value: '1' });
    const runs = session.path('runs.txt');
    // The first attempt hangs (until the "host" dies); later ones finish at once.
    const command = `echo "$QUEUECTL_ATTEMPT" >> ${runs}; if [ "$QUEUECTL_ATTEMPT" = 1 ]; then sleep 60; fi`;

    const [doomed] = await session.startWorkers(1, { host: 'doomed' });
    await session.ok(['enqueue', JSON.stringify({ id: 'stranded', command, max_retries: 2 })]);
    const { pid: jobPid } = await session.waitForRunning('stranded');
    // The survivor is idle and reaping every tick, from another host: only the lease can tell it the job is lost.
    await session.startWorkers(1, { host: 'survivor' });

    // The host goes down: its worker and the job's whole process group die at once, without a word to the store.
    signalQuietly(doomed!, 'SIGKILL');
    signalQuietly(-jobPid, 'SIGKILL');
    const killedAt = await session.store.now();
    await session.waitFor('the doomed worker to be gone', () => !processRuns(doomed!));
    const stranded = (await session.store.getJob({ id: 'stranded' }))!;
    assert.equal(stranded.state, 'processing', 'nothing recovers it at once');
    const leaseEnd = stranded.leaseExpiresAt!;
    assert.ok(leaseEnd - killedAt >= 500, `the lease still had ${leaseEnd - killedAt} ms to run when the host died`);

    await session.waitForState('stranded', 'completed', 20_000);
    const shown = await session.json<ShownJob>(['show', 'stranded']);
    assert.equal(shown.history.length, 2, JSON.stringify(shown.history));
    const [lost, rerun] = shown.history as [AttemptJson, AttemptJson];
    assert.equal(lost.host, 'doomed');
    assert.equal(lost.outcome, 'worker_lost');
    assert.match(lost.error ?? '', /lease .* expired/);
    assert.ok(Date.parse(lost.finished_at!) >= leaseEnd, `recovered at ${lost.finished_at}, not before the lease ended at ${new Date(leaseEnd).toISOString()}`);
    assert.equal(rerun.host, 'survivor');
    assert.equal(rerun.outcome, 'exit');
    assert.ok(Date.parse(rerun.started_at) >= Date.parse(lost.finished_at!), 'the rerun started after the recovery');
    assert.deepEqual(readLines(runs), ['1', '2'], 'it ran again, once');
    assert.equal(shown.attempts, 2);
  });

  it('a live worker whose registration went missing keeps its job: a peer on its host waits for the lease', async () => {
    // Peers remove a registration whose heartbeat looks stale, as every live worker's does after a store outage, and
    // `worker list` on another host does the same. The worker lives on and renews its lease all the while.
    const gate = session.path('gate');
    await session.startWorkers(2, { host: 'shared' });
    await session.ok(['enqueue', JSON.stringify({ id: 'kept', command: `while [ ! -e ${gate} ]; do sleep 0.02; done`, max_retries: 0 })]);
    await session.waitForRunning('kept');
    const owner = (await session.store.getJob({ id: 'kept' }))!.workerId!;
    const peer = (await session.store.listWorkers({ staleAfterMs: 60_000 })).find((worker) => worker.id !== owner)!;

    await session.store.removeWorker({ workerId: owner });
    // Two heartbeats of the peer after the removal: its reaper, which runs after each heartbeat, has looked at least once.
    let beats = 0;
    let last = 0;
    await session.waitFor('the peer to heartbeat twice', async () => {
      const now = (await session.store.listWorkers({ staleAfterMs: 60_000 })).find((worker) => worker.id === peer.id)?.lastHeartbeat ?? 0;
      if (now > last) [beats, last] = [beats + (last === 0 ? 0 : 1), now];
      return beats >= 2;
    });
    const kept = (await session.store.getJob({ id: 'kept' }))!;
    assert.deepEqual([kept.state, kept.workerId, kept.attempts], ['processing', owner, 1], 'the job stays with its live worker');

    writeFileSync(gate, '');
    const done = await session.waitForEnd('kept');
    const attempts = await session.store.listAttempts({ jobId: 'kept' });
    assert.deepEqual([done.state, ...attempts.map((attempt) => attempt.outcome)], ['completed', 'exit']);
  });
});
