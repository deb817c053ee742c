import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { WorkerRecord } from '../../src/core/records';
import { isWorkerAlive, workerLiveness, workerStaleAfterMs, type HostView } from '../../src/core/worker-liveness';
import { isProcessAlive, processStartTime, thisHost } from '../../src/platform/process-info';

const worker = (fields: Partial<WorkerRecord> = {}): WorkerRecord => ({
  id: 'w1', host: 'here', pid: 4242, pidStart: '1000', state: 'idle', startedAt: 0, lastHeartbeat: 0, runningJobs: [], concurrency: 1, queues: null,
  stopRequest: null, heartbeatExpired: false, ...fields,
});

/** A host named `here` on which exactly the processes in `running` (pid -> start time) run. */
const hostWith = (running: Record<number, string>): HostView => ({
  host: 'here',
  isProcessAlive: (pid, pidStart) => running[pid] !== undefined && (pidStart === null || running[pid] === pidStart),
});

describe('workerLiveness', () => {
  it('a heartbeating worker whose process runs here is alive', () => {
    assert.equal(workerLiveness(worker(), hostWith({ 4242: '1000' })), 'alive');
    assert.equal(isWorkerAlive(worker(), hostWith({ 4242: '1000' })), true);
  });

  it('a worker of this host whose process is gone has exited, heartbeat or not', () => {
    assert.equal(workerLiveness(worker(), hostWith({})), 'exited');
    assert.equal(workerLiveness(worker({ heartbeatExpired: true }), hostWith({})), 'exited');
  });

  it('a recycled pid (another start time) is not the worker', () => {
    assert.equal(workerLiveness(worker(), hostWith({ 4242: '2000' })), 'exited');
  });

  it('a worker of this host whose heartbeat expired is stale even while its process runs (paused, or cut off from the store)', () => {
    assert.equal(workerLiveness(worker({ heartbeatExpired: true }), hostWith({ 4242: '1000' })), 'stale');
    assert.equal(isWorkerAlive(worker({ heartbeatExpired: true }), hostWith({ 4242: '1000' })), false);
  });

  it('a worker of another host is judged by its heartbeat alone: its pid means nothing here', () => {
    assert.equal(workerLiveness(worker({ host: 'there' }), hostWith({})), 'alive');
    assert.equal(workerLiveness(worker({ host: 'there', heartbeatExpired: true }), hostWith({ 4242: '1000' })), 'stale');
  });

  it('with the real processes of this host: this process is alive, an exited one is not', () => {
    const here = thisHost();
    const self = worker({ host: here.host, pid: process.pid, pidStart: processStartTime(process.pid) });
    assert.equal(workerLiveness(self, here), 'alive');
    const child = spawnSync('true');
    assert.equal(isProcessAlive(child.pid!, null), false, 'the child has exited and been reaped');
    assert.equal(workerLiveness(worker({ host: here.host, pid: child.pid!, pidStart: null }), here), 'exited');
  });
});

describe('workerStaleAfterMs', () => {
  it('is the lease timeout, but never under 3 s', () => {
    assert.equal(workerStaleAfterMs(30_000), 30_000);
    assert.equal(workerStaleAfterMs(3_000), 3_000);
    assert.equal(workerStaleAfterMs(1_000), 3_000);
  });
});
