import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock';
import { currentHost, processStartTime } from '../src/platform/process-info';
import { Queue } from '../src/queue';
import { tempSqliteStore, type TempStore } from './support/temp-store';

describe('Queue: workers and status share one liveness rule, and only read', () => {
  const clock = new ManualClock();
  let temp: TempStore;
  let queue: Queue;
  const running = spawn('sleep', ['60'], { stdio: 'ignore' });

  before(async () => {
    temp = await tempSqliteStore({ clock });
    queue = new Queue(temp.store);
    await queue.configSet('lease-timeout', '10');
  });
  after(async () => {
    running.kill('SIGKILL');
    await temp.cleanup();
  });

  const register = (id: string, host: string, pid: number, pidStart: string | null) => temp.store.registerWorker({ worker: { id, host, pid, pidStart }, concurrency: 1, queues: null });
  const aliveById = async () => Object.fromEntries((await queue.workers()).map((worker) => [worker.id, worker.alive]));

  it('judges each registration by heartbeat, and on this host by its process', async () => {
    await register('here-running', currentHost(), running.pid!, processStartTime(running.pid!));
    await register('here-exited', currentHost(), spawnSync('true').pid!, null);
    await register('elsewhere', 'another-host', 1, null);
    assert.deepEqual(await aliveById(), { 'here-running': true, 'here-exited': false, elsewhere: true });
    const status = await queue.status();
    assert.deepEqual([status.activeWorkers, status.workersByHost], [2, { [currentHost()]: 1, 'another-host': 1 }]);
  });

  it('past the stale limit (the lease timeout) no heartbeat means gone, on any host', async () => {
    clock.advance(10_001);
    assert.deepEqual(await aliveById(), { 'here-running': false, 'here-exited': false, elsewhere: false });
    assert.equal((await queue.status()).activeWorkers, 0);
  });

  it('listing removed no registration', async () => {
    const ids = (await temp.store.listWorkers({ staleAfterMs: 0 })).map((worker) => worker.id).sort();
    assert.deepEqual(ids, ['elsewhere', 'here-exited', 'here-running']);
  });
});
