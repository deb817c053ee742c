import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock';
import { StoreUnavailableError, UsageError } from '../../src/core/errors';
import type { AttemptResult } from '../../src/core/transitions';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Store } from '../../src/store/store';
import { tempDir, tempSqliteStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';
import { runStoreContract } from './contract/index';
import { runLateResultContract } from './contract/late-results';
import { assertClaimedOnce } from './contract/claim';
import { newJob } from './contract/job-builders';

runStoreContract('sqlite', (options) => tempSqliteStore(options), { manualClock: true });
runLateResultContract('sqlite', () => tempSqliteStore());

const SQLITE_STORE_MODULE = join(__dirname, '../../src/store/sqlite/sqlite-store.ts');
const failure: AttemptResult = { outcome: 'exit', exitCode: 1, signal: null, error: 'exit code 1' };

describe('SqliteStore', () => {
  let dir: string;
  let removeDir: () => void;
  const opened: Store[] = [];
  const open = (path: string, options: Parameters<typeof SqliteStore.open>[1] = {}): SqliteStore => {
    const store = SqliteStore.open(path, options);
    opened.push(store);
    return store;
  };
  beforeEach(() => {
    ({ dir, cleanup: removeDir } = tempDir());
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    removeDir();
  });

  describe('files', () => {
    it('creates a new nested path owner-only: directories 0700, database and side files 0600', async () => {
      const path = join(dir, 'data', 'queuectl', 'queue.db');
      const store = open(path);
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const mode = (p: string) => statSync(p).mode & 0o777;
      assert.equal(mode(join(dir, 'data')), 0o700);
      assert.equal(mode(join(dir, 'data', 'queuectl')), 0o700);
      for (const file of ['queue.db', 'queue.db-wal', 'queue.db-wake', 'queue.db-ended']) {
        assert.equal(mode(join(dir, 'data', 'queuectl', file)), 0o600, file);
      }
    });

    it('keeps its data across reopening', async () => {
      const path = join(dir, 'queue.db');
      const first = open(path);
      await first.enqueue({ jobs: [newJob('kept')], ifNotExists: false });
      await first.close();
      assert.equal((await open(path).getJob({ id: 'kept' }))?.state, 'pending');
    });

    it('migrates a database of an older schema version, keeping its jobs and attempts', async () => {
      const path = join(dir, 'queue.db');
      // A database as queuectl left it before attempts lost their rowid (schema version 2), with one finished attempt.
      const old = new Database(path);
      old.pragma('journal_mode = WAL');
      for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 2)) {
        old.exec(migration.sql);
        old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(migration.version, migration.name);
      }
      old.pragma('user_version = 2');
      old.exec(`INSERT INTO jobs (id, command, state, attempts, runs, max_retries, run_at, created_at, updated_at)
                VALUES ('old', 'true', 'failed', 1, 1, 3, 0, 0, 0);
                INSERT INTO attempts (job_id, attempt, worker_id, host, started_at, finished_at, outcome, exit_code, error)
                VALUES ('old', 1, 'w_gone', 'h', 10, 20, 'exit', 1, 'exit code 1')`);
      old.close();

      const store = open(path);
      assert.deepEqual(
        (await store.listAttempts({ jobId: 'old' })).map((a) => [a.attempt, a.workerId, a.startedAt, a.finishedAt, a.outcome, a.exitCode]),
        [[1, 'w_gone', 10, 20, 'exit', 1]],
      );
      assert.equal((await store.getJob({ id: 'old' }))?.queue, 'default', 'a job from before queues lands in default');
      assert.deepEqual((await store.listQueues()).map((q) => [q.name, q.counts.failed, q.concurrency, q.rate, q.paused]), [['default', 1, null, null, false]]);
      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: ['default'] });
      assert.deepEqual([claimed?.job.id, claimed?.attempt], ['old', 2], 'the next attempt follows the migrated one');
      assert.equal((await store.listAttempts({ jobId: 'old' })).length, 2);
    });

    it('refuses a database with a newer schema version', async () => {
      const path = join(dir, 'queue.db');
      await open(path).close();
      assert.equal(existsSync(`${path}-wal`), false, 'closing the last connection checkpoints the WAL');
      // PRAGMA user_version lives in the database header, 4 bytes big-endian at offset 60.
      const version = Buffer.alloc(4);
      version.writeUInt32BE(999);
      const fd = openSync(path, 'r+');
      writeSync(fd, version, 0, 4, 60);
      closeSync(fd);
      assert.throws(() => open(path), (err: unknown) => err instanceof StoreUnavailableError && /schema version 999.*newer/.test(err.message));
    });

    it('refuses a file that is not a database', () => {
      const path = join(dir, 'notes.txt');
      writeFileSync(path, 'these are my notes, not a database\n'.repeat(100));
      assert.throws(() => open(path), (err: unknown) => err instanceof StoreUnavailableError && err.message.includes(path));
    });

    it('refuses a path it cannot create', () => {
      writeFileSync(join(dir, 'file'), '');
      assert.throws(() => open(join(dir, 'file', 'queue.db')), StoreUnavailableError);
    });
  });

  describe('queue settings', () => {
    it('refuses a bad name, a limit of 0 or a rate of 0 with a UsageError, changing nothing', async () => {
      const store = open(join(dir, 'queue.db'));
      await assert.rejects(store.setQueue({ name: 'bad name', paused: true }), UsageError);
      await assert.rejects(store.setQueue({ name: 'q', concurrency: 0 }), (err: unknown) => err instanceof UsageError && /concurrency/.test(err.message));
      await assert.rejects(store.setQueue({ name: 'q', rate: { count: 0, periodMs: 1000 } }), (err: unknown) => err instanceof UsageError && /rate/.test(err.message));
      await assert.rejects(store.setQueue({ name: 'q', rate: { count: 1, periodMs: 0.5 } }), UsageError);
      assert.deepEqual(await store.listQueues(), []);
    });
  });

  describe('with a manual clock', () => {
    it('a rate of 20/s starts 200 jobs in 9.5 to 10.5 s, never 21 in a second, however late the claimers wake', async () => {
      const clock = new ManualClock();
      const store = open(join(dir, 'queue.db'), { clock });
      await store.setQueue({ name: 'api', rate: { count: 20, periodMs: 1_000 } });
      await store.enqueue({ jobs: Array.from({ length: 200 }, (_, i) => newJob(`j${i}`, { queue: 'api' })), ifNotExists: false });
      const starts: number[] = [];
      // Claimers that wake up to 30 ms after the time nextRunAt names, in a fixed pseudo-random pattern.
      for (let late = 7; starts.length < 200; late = (late * 13 + 5) % 31) {
        const claimed = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 4, queues: null });
        if (claimed.length > 0) {
          starts.push(...claimed.map(() => clock.now()));
          continue;
        }
        const at = await store.nextRunAt({ queues: null });
        assert.ok(at !== null && at > clock.now());
        clock.advance(at - clock.now() + late);
      }
      const span = starts[199]! - starts[0]!;
      assert.ok(span >= 9_500 && span <= 10_500, `200 starts took ${span} ms`);
      for (let i = 20; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 20]! >= 1_000, `at most 20 starts in any second (start ${i})`);
    });

    it('schedules delays, retries and leases exactly', async () => {
      const clock = new ManualClock();
      const store = open(join(dir, 'queue.db'), { clock });
      const t0 = clock.now();
      const [delayed] = await store.enqueue({ jobs: [newJob('a', { delayMs: 5_000 })], ifNotExists: false });
      assert.equal(delayed?.job.runAt, t0 + 5_000);
      clock.advance(4_999);
      assert.deepEqual(await store.claim({ workerId: 'w1', host: 'h', leaseMs: 1_000, limit: 1, queues: null }), []);
      clock.advance(1);
      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 1_000, limit: 1, queues: null });
      assert.equal(claimed?.job.leaseExpiresAt, t0 + 6_000);

      clock.advance(1_000);
      assert.equal((await store.listLeases())[0]?.leaseExpired, false, 'the lease lasts through its last millisecond');
      clock.advance(1);
      assert.equal((await store.listLeases())[0]?.leaseExpired, true);

      const failedAt = clock.now();
      await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: 1, result: failure, next: { state: 'failed', retryDelayMs: 8_000, countsAttempt: true } });
      assert.equal((await store.getJob({ id: 'a' }))?.runAt, failedAt + 8_000);
      assert.equal(await store.nextRunAt({ queues: null }), failedAt + 8_000);
      clock.advance(7_999);
      assert.deepEqual(await store.claim({ workerId: 'w1', host: 'h', leaseMs: 1_000, limit: 1, queues: null }), []);
      clock.advance(1);
      assert.equal((await store.claim({ workerId: 'w1', host: 'h', leaseMs: 1_000, limit: 1, queues: null }))[0]?.attempt, 2);
    });

    it('ages heartbeats and finished jobs by the clock', async () => {
      const clock = new ManualClock();
      const store = open(join(dir, 'queue.db'), { clock });
      await store.registerWorker({ worker: { id: 'w1', host: 'h', pid: 1, pidStart: null }, concurrency: 1, queues: null });
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      await store.claim({ workerId: 'w1', host: 'h', leaseMs: 1_000, limit: 1, queues: null });
      await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: 1, result: { ...failure, exitCode: 0, error: null }, next: { state: 'completed', retryDelayMs: 0, countsAttempt: true } });
      clock.advance(30_000);
      assert.equal((await store.listWorkers({ staleAfterMs: 30_000 }))[0]?.heartbeatExpired, false);
      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 30_001, dryRun: true }), 0);
      clock.advance(1);
      assert.equal((await store.listWorkers({ staleAfterMs: 30_000 }))[0]?.heartbeatExpired, true);
      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 30_001, dryRun: true }), 1);
    });
  });

  describe('several connections on one file', () => {
    it('four processes claiming at once never claim a job twice', async () => {
      const path = join(dir, 'queue.db');
      const ids = Array.from({ length: 400 }, (_, i) => `job-${i}`);
      await open(path).enqueue({ jobs: ids.map((id) => newJob(id)), ifNotExists: false });
      const children = Array.from({ length: 4 }, (_, i) => startClaimProcess(path, `w${i}`));
      // Start all claim loops together, once every process has opened the database.
      await Promise.all(children.map((child) => child.ready));
      for (const child of children) child.go();
      const perProcess = await Promise.all(children.map((child) => child.claimed));
      assertClaimedOnce(perProcess, ids);
    });

    it('wakes a subscriber on one connection when another enqueues', async () => {
      const path = join(dir, 'queue.db');
      const watcher = open(path);
      const writer = open(path);
      let wakes = 0;
      const unsubscribe = await watcher.subscribe(() => {
        wakes++;
      });
      try {
        await writer.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        await waitFor('the other connection to be woken', () => wakes > 0);
      } finally {
        await unsubscribe();
      }
    });
  });
});

/** A claim loop in a separate Node process on the same file: it opens the store, says ready, and drains on `go()`. */
function startClaimProcess(path: string, workerId: string): { ready: Promise<void>; go: () => void; claimed: Promise<string[]> } {
  const script = `
    const { SqliteStore } = require(${JSON.stringify(SQLITE_STORE_MODULE)});
    const store = SqliteStore.open(${JSON.stringify(path)}, { durability: 'normal' });
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      const claimed = [];
      for (let c; (c = await store.claim({ workerId: ${JSON.stringify(workerId)}, host: 'h', leaseMs: 60000, limit: 3, queues: null })).length > 0; ) {
        claimed.push(...c.map((one) => one.job.id));
      }
      await store.close();
      process.stdout.write(JSON.stringify(claimed) + '\\n');
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
    if (stdout.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const claimed = new Promise<string[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`claim process ${workerId} exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.slice('ready\n'.length)) as string[]);
    });
  });
  // A process that dies before saying ready must fail the test, not hang it.
  claimed.catch(() => onReady());
  return { ready, go: () => child.stdin.write('go\n'), claimed };
}
