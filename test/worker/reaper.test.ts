import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock';
import { resolveConfig } from '../../src/core/config';
import { currentHost, processGroupExists, processStartTime } from '../../src/platform/process-info';
import type { Store } from '../../src/store/store';
import { cleanUpGoneWorkers, reapLostJobs } from '../../src/worker/reaper';
import { processRuns, signalQuietly } from '../support/processes';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';
import { newJob } from '../store/contract/job-builders';

const HOST = currentHost();
const config = resolveConfig({});

/** A real process standing in for a worker or a job: `sleep 60` as the leader of its own process group. */
function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  assert.ok(child.pid !== undefined, 'the sleeper started');
  return child as ChildProcess & { pid: number };
}

/** SIGKILLs `child` and waits until Node has reaped it, so its pid no longer names a running process. */
async function kill(child: ChildProcess & { pid: number }): Promise<void> {
  const exited = once(child, 'exit');
  signalQuietly(child.pid);
  await exited;
  assert.equal(processRuns(child.pid), false);
}

describe('the reaper, against a real store and real processes', () => {
  let clock: ManualClock;
  let temp: TempStore;
  let store: Store;
  const started: (ChildProcess & { pid: number })[] = [];
  const start = (): ChildProcess & { pid: number } => {
    const child = sleeper();
    started.push(child);
    return child;
  };
  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    temp = await tempSqliteStore({ clock });
    store = temp.store;
  });
  afterEach(async () => {
    for (const child of started.splice(0)) signalQuietly(-child.pid);
    await temp.cleanup();
  });

  /** Registers `workerId` as the process `worker` on `host`, and has it claim `limit` jobs with a lease of `leaseMs`. */
  const claimManyAs = async (workerId: string, worker: { pid: number }, limit: number, host = HOST, leaseMs = 60_000) => {
    await store.registerWorker({ worker: { id: workerId, host, pid: worker.pid, pidStart: processStartTime(worker.pid) }, concurrency: limit, queues: null });
    const claimed = await store.claim({ workerId, host, leaseMs, limit, queues: null });
    assert.equal(claimed.length, limit, `${workerId} claimed ${limit} job(s)`);
    return claimed;
  };
  const claimAs = async (workerId: string, worker: { pid: number }, host = HOST, leaseMs = 60_000) => (await claimManyAs(workerId, worker, 1, host, leaseMs))[0]!;
  const reap = (log: string[] = [], selfId = 'me', inHand: (jobId: string) => boolean = () => false) =>
    reapLostJobs({ store, host: HOST, selfId, inHand, config, log: (line) => log.push(line) });

  it('recovers at once the job of a worker that died on this host, killing the process group its job left', async () => {
    await store.enqueue({ jobs: [newJob('orphaned', { maxRetries: 2 })], ifNotExists: false });
    const worker = start();
    const job = start();
    const claimed = await claimAs('w-dead', worker);
    await store.recordAttemptProcess({ jobId: 'orphaned', attempt: claimed.attempt, workerId: 'w-dead', pid: job.pid, pidStart: processStartTime(job.pid) });

    assert.deepEqual(await reap(), [], 'a live worker keeps its job, lease and all');
    assert.equal(processGroupExists(job.pid), true);

    await kill(worker);
    const log: string[] = [];
    assert.deepEqual(await reap(log), ['orphaned'], 'recovered without waiting for the lease to expire');
    await waitFor('the job process group to be gone', () => !processGroupExists(job.pid));
    const recovered = await store.getJob({ id: 'orphaned' });
    assert.deepEqual([recovered?.state, recovered?.attempts, recovered?.workerId], ['failed', 1, null]);
    assert.deepEqual((await store.listAttempts({ jobId: 'orphaned' })).map((a) => [a.outcome, a.error]), [['worker_lost', `worker lost: w-dead (pid ${worker.pid}) exited`]]);
    assert.match(log.join('\n'), /recovered job orphaned \(worker lost: w-dead \(pid \d+\) exited\); now failed/);
    assert.deepEqual(await reap(), [], 'recovered once');
  });

  it('leaves a lease of another host alone until it expires by the store clock, and kills nothing there', async () => {
    await store.enqueue({ jobs: [newJob('remote', { maxRetries: 0 })], ifNotExists: false });
    // The pid of a process that runs here, registered on another host: the reaper must not judge it, nor signal it.
    const bystander = start();
    const claimed = await claimAs('w-remote', bystander, 'elsewhere', 1_000);
    await store.recordAttemptProcess({ jobId: 'remote', attempt: claimed.attempt, workerId: 'w-remote', pid: bystander.pid, pidStart: null });

    assert.deepEqual(await reap(), []);
    clock.advance(1_000);
    assert.deepEqual(await reap(), [], 'the lease lasts through its last millisecond');
    clock.advance(1);
    const log: string[] = [];
    assert.deepEqual(await reap(log), ['remote']);
    assert.equal((await store.getJob({ id: 'remote' }))?.state, 'dead', 'no retries left');
    assert.equal(processRuns(bystander.pid), true, 'a process on another host is not this host to kill');
    assert.match(log.join('\n'), /lease of w-remote expired\); now dead/);
  });

  it('cleans up gone workers: one exited here, one stale elsewhere; a dead one holding a job is left to the reaper', async () => {
    const alive = start();
    const exited = start();
    const holder = start();
    const register = (id: string, host: string, pid: number, pidStart: string | null) =>
      store.registerWorker({ worker: { id, host, pid, pidStart }, concurrency: 1, queues: null });
    await register('alive', HOST, alive.pid, processStartTime(alive.pid));
    await register('exited', HOST, exited.pid, processStartTime(exited.pid));
    await register('stale', 'elsewhere', 1, null);
    await store.enqueue({ jobs: [newJob('held')], ifNotExists: false });
    await claimAs('holder', holder);
    await kill(exited);
    await kill(holder);

    assert.deepEqual(await cleanUpGoneWorkers({ store, host: HOST, staleAfterMs: 30_000 }), ['exited']);
    clock.advance(30_001);
    // Every heartbeat is now old, so the live worker here beats again, as it would.
    await store.heartbeat({ workerId: 'alive', state: 'idle', jobIds: [], leaseMs: 60_000 });
    assert.deepEqual(await cleanUpGoneWorkers({ store, host: HOST, staleAfterMs: 30_000 }), ['stale']);
    assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => w.id).sort(), ['alive', 'holder']);

    assert.deepEqual(await reap(), ['held'], 'the reaper takes the dead holder\'s job');
    assert.deepEqual(await cleanUpGoneWorkers({ store, host: HOST, staleAfterMs: 60_000 }), ['holder'], 'then its registration goes');
  });

  it('recovers every job of a dead worker that held several, killing each one\'s process group first', async () => {
    await store.enqueue({ jobs: ['j1', 'j2', 'j3'].map((id) => newJob(id, { maxRetries: 2 })), ifNotExists: false });
    const worker = start();
    const claimed = await claimManyAs('w-busy', worker, 3);
    const groups = claimed.map(() => start());
    // Each one's process group recorded, as the worker does for a job that outlives 100 ms.
    for (const [i, c] of claimed.entries()) {
      await store.recordAttemptProcess({ jobId: c.job.id, attempt: c.attempt, workerId: 'w-busy', pid: groups[i]!.pid, pidStart: processStartTime(groups[i]!.pid) });
    }
    await kill(worker);
    assert.deepEqual((await reap()).sort(), ['j1', 'j2', 'j3']);
    for (const group of groups) await waitFor(`process group ${group.pid} to be gone`, () => !processGroupExists(group.pid));
    for (const id of ['j1', 'j2', 'j3']) assert.deepEqual((await store.listAttempts({ jobId: id })).map((a) => a.outcome), ['worker_lost']);
    assert.deepEqual(await reap(), [], 'recovered once');
  });

  it('leaves the jobs this worker holds alone, and recovers one of its own it dropped once its lease expired', async () => {
    await store.enqueue({ jobs: ['held-1', 'held-2', 'dropped'].map((id) => newJob(id)), ifNotExists: false });
    const self = start();
    await claimManyAs('me', self, 3, HOST, 1_000);
    const inHand = (jobId: string) => jobId !== 'dropped';
    assert.deepEqual(await reap([], 'me', inHand), [], 'a lease of its own that has not expired is left alone');
    clock.advance(1_001);
    assert.deepEqual(await reap([], 'me', inHand), ['dropped'], 'only the expired one it no longer holds');
    assert.deepEqual((await store.listLeases()).map((lease) => lease.jobId).sort(), ['held-1', 'held-2']);
  });
});
