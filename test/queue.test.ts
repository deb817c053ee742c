import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock';
import { NotFoundError, UsageError } from '../src/core/errors';
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

describe('Queue: named queues through the library', () => {
  let temp: TempStore;
  let queue: Queue;
  before(async () => {
    temp = await tempSqliteStore();
    queue = new Queue(temp.store);
  });
  after(async () => temp.cleanup());

  it('add() puts a job in the queue it names, `default` otherwise; list() and status() filter by it', async () => {
    const [mail] = await queue.add({ command: 'true', queue: 'email', delay: '1h' });
    const [plain] = await queue.add({ command: 'true', delay: '1h' });
    assert.deepEqual([mail!.queue, plain!.queue], ['email', 'default']);
    assert.deepEqual((await queue.list({ queue: 'email' })).map((job) => job.id), [mail!.id]);
    const status = await queue.status({ queue: 'email' });
    assert.deepEqual([status.queue?.name, status.counts.pending], ['email', 1]);
    assert.deepEqual((await queue.status()).queues.map((record) => record.name), ['default', 'email']);
    await assert.rejects(queue.add({ command: 'true', queue: 'no good' }), /queue: "no good" is not a valid queue name/);
    await assert.rejects(queue.status({ queue: 'nope' }), NotFoundError);
  });

  it('setQueue() takes a limit and a rate as text or numbers; 0 and null lift them; fields left out stay', async () => {
    const set = await queue.setQueue('email', { concurrency: 3, rate: '10/s' });
    assert.deepEqual([set.concurrency, set.rate, set.paused], [3, { count: 10, periodMs: 1000 }, false]);
    assert.deepEqual((await queue.setQueue('email', { rate: { count: 5, periodMs: 60_000 } })).rate, { count: 5, periodMs: 60_000 });
    assert.equal((await queue.setQueue('email', { concurrency: 0 })).concurrency, null);
    const lifted = await queue.setQueue('email', { rate: null });
    assert.deepEqual([lifted.concurrency, lifted.rate], [null, null]);
  });

  it('setQueue() refuses what the CLI refuses, with a UsageError naming the field, and changes nothing', async () => {
    await queue.setQueue('email', { concurrency: 2 });
    const before = await queue.listQueues();
    const refused: [string, Parameters<Queue['setQueue']>[1], RegExp][] = [
      ['email', { concurrency: -1 }, /^concurrency: expected a whole number from 0/],
      ['email', { concurrency: 1.5 }, /^concurrency:/],
      ['email', { rate: '0/s' }, /^rate: expected a number of jobs per second/],
      ['email', { rate: 'ten/s' }, /^rate:/],
      ['email', { rate: { count: 0, periodMs: 1000 } }, /^rate: expected '10\/s'/],
      ['email', {}, /give a concurrency or a rate/],
      ['bad name', { concurrency: 1 }, /^queue: "bad name" is not a valid queue name/],
    ];
    for (const [name, settings, message] of refused) await assert.rejects(queue.setQueue(name, settings), (err: Error) => err instanceof UsageError && message.test(err.message));
    assert.deepEqual(await queue.listQueues(), before);
  });

  it('pauseQueue() and resumeQueue() flip the flag; resuming an unknown queue is a NotFoundError', async () => {
    assert.equal((await queue.pauseQueue('video')).paused, true, 'a queue may be paused before it has jobs');
    assert.equal((await queue.status()).queues.find((record) => record.name === 'video')?.paused, true);
    assert.equal((await queue.resumeQueue('video')).paused, false);
    await assert.rejects(queue.resumeQueue('nope'), NotFoundError);
  });
});
