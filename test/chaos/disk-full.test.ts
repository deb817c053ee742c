import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { backends, type Backend } from '../support/backends';
import { workerLogPath } from '../../src/worker/supervisor';
import { ChaosRun } from './chaos-run';
import { PROFILE, tmpfsSkipReason } from './profile';
import { SmallTmpfs } from './tmpfs';

const JOBS = PROFILE.name === 'long' ? 60 : 20;

/** A SQLite store on a fresh small tmpfs, unmounted by its cleanup. */
function sqliteOnTmpfs(tmpfs: SmallTmpfs): Backend {
  return {
    name: 'sqlite on a small tmpfs',
    skip: false,
    make: async () => {
      const location = join(tmpfs.dir, 'queue.db');
      const store = SqliteStore.open(location);
      return { store, location, env: {}, cleanup: () => store.close() };
    },
  };
}

describe(`chaos: a full disk (${PROFILE.name} profile)`, { skip: tmpfsSkipReason() }, () => {
  it('the SQLite store fills its disk mid-run: enqueues are refused in one line, workers live on, all drains once freed', async (t) => {
    const tmpfs = SmallTmpfs.mount(8 * 1024);
    t.after(() => tmpfs.unmount());
    const run = await ChaosRun.open(t, sqliteOnTmpfs(tmpfs));
    await run.ok(['config', 'set', 'lease-timeout', '5']);
    await run.ok(['config', 'set', 'backoff-base', '1']);
    // Jobs with some output, so results need room in the store.
    const specs = run.jobs({ prefix: 'full', count: JOBS, sleepSeconds: 0.2 }).map((spec) => ({ ...spec, command: `head -c 3000 /dev/urandom | od -An | head -c 8000; ${String(spec.command)}` }));
    assert.equal((await run.enqueue(specs)).code, 0);
    await run.startWorkers(2);
    await run.session.waitFor('a few jobs to complete', async () => (await run.session.temp.store.countJobs()).counts.completed >= 3);

    tmpfs.fill();
    run.faults++;
    // While full: reads work, enqueues are refused in one line without an internal error, nothing is acknowledged.
    for (let i = 0; i < 5; i++) {
      const refused = await run.enqueue([{ id: `while-full-${i}`, command: 'true', max_retries: 0 }]);
      if (refused.code === 0) continue;
      assert.equal(refused.stderr.trimEnd().split('\n').length, 1, `one line: ${refused.stderr}`);
      assert.doesNotMatch(refused.stderr, /internal error/, 'a full disk is an expected error');
    }
    for (const args of [['list', '--json'], ['status', '--json']]) assert.equal((await run.cli(args)).code, 0, `${args[0]} works on a full disk`);

    tmpfs.free();
    await run.drain(60_000);
    await run.finish(t, 'full disk (store)');
  });

  for (const backend of backends()) {
    it(`the workers' log on a full disk (${backend.name}): workers keep working and recovering`, { skip: backend.skip }, async (t) => {
      const tmpfs = SmallTmpfs.mount(256);
      t.after(() => tmpfs.unmount());
      const run = await ChaosRun.open(t, backend);
      await run.ok(['config', 'set', 'lease-timeout', '5']);
      // The log, wherever this backend puts it, is a link to a file on the full tmpfs.
      const logPath = backend.name === 'sqlite' ? workerLogPath(run.session.target.location) : join(run.session.dir, 'data', 'queuectl', 'workers.log');
      rmSync(logPath, { force: true });
      symlinkSync(join(tmpfs.dir, 'workers.log'), logPath);
      tmpfs.fill();
      run.faults++;
      assert.equal((await run.enqueue(run.jobs({ prefix: 'log', count: JOBS, sleepSeconds: 0.3 }))).code, 0);
      await run.startWorkers(2);
      // Killing a worker mid-job makes its peer log the recovery: a write to the full log.
      await run.session.waitFor('a job to run', async () => (await run.session.temp.store.listLeases()).length > 0);
      const [victim] = run.liveWorkers();
      run.kill(victim!);
      await run.startWorkers(1);
      await run.drain(60_000);
      await run.finish(t, 'full disk (workers\' log)');
    });
  }
});
