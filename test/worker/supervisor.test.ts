import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { currentHost } from '../../src/platform/process-info';
import type { Store } from '../../src/store/store';
import { processRuns, signalQuietly } from '../support/processes';
import { tempDir, tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

/**
 * The built supervisor: it starts workers as `node <its dir>/../cli/bin.js worker run`, which exists only in dist/
 * (`npm test` builds first, as for every end-to-end test). The store handed to it is this process's own.
 */
const DIST = join(__dirname, '..', '..', 'dist');
const supervisor = require(join(DIST, 'worker', 'supervisor.js')) as typeof import('../../src/worker/supervisor');
const { StoreUnavailableError } = require(join(DIST, 'core', 'errors.js')) as typeof import('../../src/core/errors');

describe('the supervisor: real background workers', () => {
  let temp: TempStore;
  let store: Store;
  const pids: number[] = [];
  beforeEach(async () => {
    temp = await tempSqliteStore();
    store = temp.store;
  });
  afterEach(async () => {
    for (const pid of pids.splice(0)) if (processRuns(pid)) signalQuietly(pid);
    await temp.cleanup();
  });

  it('starts N detached workers, returning once each has registered; stops them all through the store', async () => {
    const started = await supervisor.startBackgroundWorkers({ store, location: temp.location, count: 2 });
    pids.push(...started.pids);
    assert.equal(started.pids.length, 2);
    assert.equal(started.logPath, supervisor.workerLogPath(temp.location));
    assert.equal(started.logPath, `${temp.location}.workers.log`, 'beside the SQLite file');
    assert.ok(existsSync(started.logPath));
    assert.ok(started.pids.every(processRuns), 'both run');
    const registered = await store.listWorkers({ staleAfterMs: 60_000 });
    assert.deepEqual(registered.map((w) => w.pid).sort(), [...started.pids].sort(), 'each registered under its own pid');
    assert.ok(registered.every((w) => w.host === currentHost() && w.state === 'idle'));

    const outcome = await supervisor.stopWorkers({ store, wait: true, timeoutMs: 10_000, staleAfterMs: 5_000 });
    assert.deepEqual(outcome, { asked: 2, remaining: [], forced: false }, 'a graceful stop, in time');
    assert.ok(started.pids.every((pid) => !processRuns(pid)), 'the processes are gone');
    assert.deepEqual(await store.listWorkers({ staleAfterMs: 60_000 }), [], 'and so are their registrations');
    assert.deepEqual(await supervisor.stopWorkers({ store, wait: true, timeoutMs: 1_000, staleAfterMs: 5_000 }), { asked: 0, remaining: [], forced: false });
  });

  it('without wait, asks and returns at once; the workers stop by themselves', async () => {
    const started = await supervisor.startBackgroundWorkers({ store, location: temp.location, count: 1 });
    pids.push(...started.pids);
    assert.deepEqual(await supervisor.stopWorkers({ store, wait: false, timeoutMs: null, staleAfterMs: 5_000 }), { asked: 1, remaining: [], forced: false });
    await waitFor('the worker to exit on its own', () => started.pids.every((pid) => !processRuns(pid)), { timeoutMs: 15_000 });
  });

  it('fails loudly, with the log, when a worker exits before registering', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // A file that is not a database: the worker refuses it and exits.
      const location = join(dir, 'notes.db');
      writeFileSync(location, 'these are my notes, not a database\n'.repeat(100));
      await assert.rejects(supervisor.startBackgroundWorkers({ store, location, count: 1 }), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError, `a StoreUnavailableError, got ${String(err)}`);
        assert.match(err.message, /^worker pid \d+ exited before registering: .+ \(log: .*notes\.db\.workers\.log\)$/);
        return true;
      });
      assert.ok(readFileSync(`${location}.workers.log`, 'utf8').length > 0, 'the worker said why in its log');
    } finally {
      cleanup();
    }
  });
});
