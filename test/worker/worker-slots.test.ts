import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors';
import { parseJobSpec } from '../../src/core/job-spec';
import { Worker } from '../../src/worker/worker';
import { processRuns, signalQuietly } from '../support/processes';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

describe('Worker options', () => {
  it('refuses a concurrency outside 1-1000 and bad queue lists, before touching the store', async () => {
    const temp = await tempSqliteStore();
    try {
      const store = temp.store;
      for (const concurrency of [0, -1, 1.5, 1001, Number.NaN]) {
        assert.throws(() => new Worker({ store, concurrency }), (err: unknown) => err instanceof UsageError && /concurrency: expected a whole number of jobs from 1 to 1000/.test(err.message), String(concurrency));
      }
      for (const queues of [[], ['bad name'], ['']]) {
        assert.throws(() => new Worker({ store, queues }), UsageError, JSON.stringify(queues));
      }
      const worker = new Worker({ store, concurrency: 1000, queues: ['mail', 'video', 'mail'] });
      assert.deepEqual([worker.concurrency, worker.queues], [1000, ['mail', 'video']]);
      assert.deepEqual([new Worker({ store }).concurrency, new Worker({ store }).queues], [1, null]);
      assert.deepEqual(await store.listWorkers({ staleAfterMs: 60_000 }), [], 'nothing registered');
    } finally {
      await temp.cleanup();
    }
  });
});

describe('a worker with several jobs in hand', () => {
  let temp: TempStore;
  let worker: Worker;
  let running: Promise<void>;
  const log: string[] = [];
  const pidFile = (id: string) => join(temp.location, '..', `${id}.pid`);
  const sleepPid = (id: string): number | null => (existsSync(pidFile(id)) ? Number(readFileSync(pidFile(id), 'utf8').trim()) || null : null);

  beforeEach(async () => {
    temp = await tempSqliteStore();
    log.length = 0;
    worker = new Worker({ store: temp.store, concurrency: 3, log: (line) => log.push(line) });
  });
  afterEach(async () => {
    await worker.stop('kill');
    await running;
    for (const id of ['a', 'b', 'c']) {
      const pid = sleepPid(id);
      if (pid !== null) signalQuietly(pid);
    }
    await temp.cleanup();
  });

  it('a lease lost for one job kills that job only; the others run on', async () => {
    const specs = ['a', 'b', 'c'].map((id) => parseJobSpec({ id, command: `sleep 300 & echo $! > ${pidFile(id)}; wait`, max_retries: 3 }, process.cwd()).job);
    await temp.store.enqueue({ jobs: specs, ifNotExists: false });
    running = worker.run();
    const pids = await waitFor('the three sleeps to start', () => {
      const found = ['a', 'b', 'c'].map(sleepPid);
      return found.every((pid) => pid !== null) ? (found as number[]) : null;
    });
    assert.deepEqual([...worker.runningJobs].sort(), ['a', 'b', 'c']);

    // Job b is taken away, as a reaper does with a lease it judged lost: the guarded finish in the worker's name.
    const b = (await temp.store.listAttempts({ jobId: 'b' })).at(-1)!;
    const lost = { outcome: 'worker_lost' as const, exitCode: null, signal: null, error: 'taken away by the test' };
    assert.equal(await temp.store.finishAttempt({ jobId: 'b', workerId: worker.id, attempt: b.attempt, result: lost, next: { state: 'failed', retryDelayMs: 3_600_000, countsAttempt: true } }), true);

    await waitFor('the next heartbeat to kill job b', () => !processRuns(pids[1]!));
    await waitFor('job b to leave its slot', () => !worker.runningJobs.includes('b'));
    assert.deepEqual([...worker.runningJobs].sort(), ['a', 'c']);
    assert.deepEqual([processRuns(pids[0]!), processRuns(pids[2]!)], [true, true], 'the other jobs run on');
    for (const id of ['a', 'c']) assert.equal((await temp.store.getJob({ id }))?.state, 'processing');
    assert.ok(log.includes('job b: lease lost; killing it'), log.join('\n'));
    assert.ok(log.some((line) => /^job b attempt 1: lease lost before its result was written/.test(line)), log.join('\n'));
    assert.deepEqual((await temp.store.listAttempts({ jobId: 'b' })).map((attempt) => attempt.outcome), ['worker_lost'], 'its recovery stands');
  });
});
