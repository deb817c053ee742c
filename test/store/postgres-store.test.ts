import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Client } from 'pg';
import { StoreUnavailableError, UsageError } from '../../src/core/errors';
import type { AttemptResult, NextState } from '../../src/core/transitions';
import { PostgresStore } from '../../src/store/postgres/postgres-store';
import type { Store } from '../../src/store/store';
import { dropSchema, pgSkipReason, postgresAvailable, randomSchema, TEST_PG_URL, tempPostgresStore } from '../support/temp-postgres';
import { waitFor } from '../support/wait-for';
import { runStoreContract } from './contract/index';
import { runLateResultContract } from './contract/late-results';
import { newJob } from './contract/job-builders';

const skip = pgSkipReason();

runStoreContract('postgres', () => tempPostgresStore(), { skip });
runLateResultContract('postgres', () => tempPostgresStore(), { skip });

const ok: AttemptResult = { outcome: 'exit', exitCode: 0, signal: null, error: null };
const completed: NextState = { state: 'completed', retryDelayMs: 0, countsAttempt: true };

describe('PostgresStore', { skip }, () => {
  let schema: string;
  let admin: Client;
  const opened: Store[] = [];
  /** Opens another store (its own pool) on the test schema; closed after the test. */
  const open = async (options: { schema?: string } = {}): Promise<Store> => {
    const store = await PostgresStore.open(TEST_PG_URL, { schema: options.schema ?? schema });
    opened.push(store);
    return store;
  };
  /** One statement through a plain connection of the test's own, bypassing the store. */
  const sql = async <R>(text: string, values: unknown[] = []): Promise<R[]> => (await admin.query(text, values)).rows as R[];

  beforeEach(async () => {
    schema = randomSchema();
    admin = new Client({ connectionString: TEST_PG_URL });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await admin.end();
    await dropSchema(schema);
  });

  it('reaches the test server (under CI=true a missing server fails here instead of skipping)', async () => {
    assert.equal(await postgresAvailable(), true);
  });

  describe('opening', () => {
    it('migrates one fresh schema from several stores at once, applying each migration once', async () => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => open()));
      const applied = await sql<{ version: number; n: string }>(`SELECT version, count(*) AS n FROM "${schema}".schema_migrations GROUP BY version`);
      assert.ok(applied.length > 0);
      assert.ok(applied.every((row) => row.n === '1'), 'each migration recorded once');
      await stores[0]!.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      assert.equal((await stores[3]!.getJob({ id: 'a' }))?.state, 'pending', 'every store sees the same schema');
    });

    it('refuses a schema migrated by a newer queuectl', async () => {
      await (await open()).close();
      await sql(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'from the future')`);
      await assert.rejects(open(), (err: unknown) => err instanceof StoreUnavailableError && /version 999.*upgrade queuectl/.test(err.message));
    });

    it('takes the schema from QUEUECTL_SCHEMA when no option names one', async () => {
      const saved = process.env.QUEUECTL_SCHEMA;
      process.env.QUEUECTL_SCHEMA = schema;
      try {
        const store = await PostgresStore.open(TEST_PG_URL, {});
        opened.push(store);
        await store.enqueue({ jobs: [newJob('env')], ifNotExists: false });
      } finally {
        if (saved === undefined) delete process.env.QUEUECTL_SCHEMA;
        else process.env.QUEUECTL_SCHEMA = saved;
      }
      assert.deepEqual(await sql(`SELECT id FROM "${schema}".jobs`), [{ id: 'env' }]);
    });

    it('rejects a schema name that is not a simple identifier', async () => {
      await assert.rejects(open({ schema: 'bad"; DROP TABLE x; --' }), UsageError);
      await assert.rejects(open({ schema: '1abc' }), UsageError);
    });

    it('reports an unreachable server in one line, without the password', async () => {
      const url = new URL(TEST_PG_URL);
      url.password = 'hunter2';
      url.port = '1';
      await assert.rejects(PostgresStore.open(url.toString(), { schema }), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailableError);
        assert.match(err.message, /^cannot connect to PostgreSQL at postgres:\/\/[^ ]*:1\/.*check --db \/ QUEUECTL_DB/);
        assert.doesNotMatch(err.message, /hunter2|\n/);
        return true;
      });
    });
  });

  describe('concurrency', () => {
    it('promotes a job whose two dependencies complete at the same moment on different connections', async () => {
      const [a, b] = [await open(), await open()];
      for (let round = 0; round < 10; round++) {
        const [x, y, after] = [`x${round}`, `y${round}`, `after${round}`];
        await a.enqueue({ jobs: [newJob(x, { priority: 1 }), newJob(y, { priority: 1 }), newJob(after, { dependsOn: [x, y] })], ifNotExists: false });
        const [first] = await a.claim({ workerId: 'wa', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
        const [second] = await b.claim({ workerId: 'wb', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
        assert.ok(first && second);
        await Promise.all([
          a.finishAttempt({ jobId: first.job.id, workerId: 'wa', attempt: first.attempt, result: ok, next: completed }),
          b.finishAttempt({ jobId: second.job.id, workerId: 'wb', attempt: second.attempt, result: ok, next: completed }),
        ]);
        assert.equal((await a.getJob({ id: after }))?.state, 'pending', `round ${round}: the dependent is runnable`);
        const [claimed] = await a.claim({ workerId: 'wa', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
        await a.finishAttempt({ jobId: after, workerId: 'wa', attempt: claimed!.attempt, result: ok, next: completed });
      }
    });

    it('lets concurrent enqueues of one id with ifNotExists all succeed, creating it once', async () => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => open()));
      const results = await Promise.all(stores.map((store, i) => store.enqueue({ jobs: [newJob('once', { command: `echo ${i}` })], ifNotExists: true })));
      assert.equal(results.filter(([result]) => result?.created).length, 1);
      assert.equal(new Set(results.map(([result]) => result?.job.command)).size, 1, 'every caller sees the job that won');
    });
  });

  describe('wake-ups', () => {
    it('wakes a subscriber of one store when another store enqueues', async () => {
      const [watcher, writer] = [await open(), await open()];
      let wakes = 0;
      const unsubscribe = await watcher.subscribe(() => wakes++);
      try {
        await writer.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        await waitFor('the other store to be woken', () => wakes > 0);
      } finally {
        await unsubscribe();
      }
    });

    it('does not wake subscribers of another schema', async () => {
      const other = randomSchema();
      try {
        const [watcher, writer] = [await open(), await open({ schema: other })];
        let wakes = 0;
        const unsubscribe = await watcher.subscribe(() => wakes++);
        let ownWakes = 0;
        const unsubscribeOwn = await writer.subscribe(() => ownWakes++);
        try {
          await writer.notify();
          await waitFor('the writer schema subscriber to be woken', () => ownWakes > 0);
          assert.equal(wakes, 0);
        } finally {
          await unsubscribe();
          await unsubscribeOwn();
        }
      } finally {
        for (const store of opened.splice(0)) await store.close();
        await dropSchema(other);
      }
    });

    it('reconnects a subscriber whose connection dropped, and wakes it on reconnecting', async () => {
      const [watcher, writer] = [await open(), await open()];
      let wakes = 0;
      const unsubscribe = await watcher.subscribe(() => wakes++);
      try {
        const listening = `SELECT pid FROM pg_stat_activity WHERE application_name = 'queuectl' AND query = 'LISTEN "queuectl_${schema}"'`;
        const [backend] = await waitFor('the LISTEN connection', () => sql<{ pid: number }>(listening).then((rows) => (rows.length > 0 ? rows : null)));
        await sql('SELECT pg_terminate_backend($1)', [backend!.pid]);
        await waitFor('a wake-up after reconnecting', () => wakes > 0);
        await waitFor('a new LISTEN connection', async () => (await sql<{ pid: number }>(listening)).some((row) => row.pid !== backend!.pid));
        const before = wakes;
        await writer.notify();
        await waitFor('a wake-up through the new connection', () => wakes > before);
      } finally {
        await unsubscribe();
      }
    });
  });

  describe('the database clock', () => {
    it('computes leases from the database clock, whatever the Node clock says', async () => {
      const store = await open();
      await store.enqueue({ jobs: [newJob('long'), newJob('short', { priority: -1 })], ifNotExists: false });
      const realNow = Date.now;
      // This host's clock runs a day fast: a store that used it would see every lease as expired, or far too long.
      Date.now = () => realNow() + 86_400_000;
      try {
        const before = await store.now();
        const [long] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
        const after = await store.now();
        assert.ok(Math.abs(before - realNow()) < 60_000, 'store.now() is the server time');
        const [{ db_now: dbNow } = { db_now: 0 }] = await sql<{ db_now: string }>(`SELECT floor(extract(epoch FROM now()) * 1000)::bigint AS db_now`);
        assert.ok(Number(dbNow) >= after);
        assert.ok(long && long.job.leaseExpiresAt! >= before + 60_000 && long.job.leaseExpiresAt! <= after + 60_000);
        assert.deepEqual((await store.listLeases()).map((lease) => [lease.jobId, lease.leaseExpired]), [['long', false]]);

        const [short] = await store.claim({ workerId: 'w2', host: 'h', leaseMs: 100, limit: 1, queues: null });
        assert.equal(short?.job.id, 'short');
        const expired = await waitFor('the 100ms lease to expire by the database clock', async () =>
          (await store.listLeases()).find((lease) => lease.jobId === 'short' && lease.leaseExpired));
        assert.equal(expired.workerId, 'w2');
        assert.ok((await store.now()) > short.job.leaseExpiresAt!);
        assert.equal((await store.listLeases()).find((lease) => lease.jobId === 'long')?.leaseExpired, false);
      } finally {
        Date.now = realNow;
      }
    });

    it('schedules by the database clock: a job due in an hour stays put however fast this host runs', async () => {
      const store = await open();
      const realNow = Date.now;
      Date.now = () => realNow() + 7_200_000;
      try {
        await store.enqueue({ jobs: [newJob('later', { delayMs: 3_600_000 })], ifNotExists: false });
        assert.deepEqual(await store.claim({ workerId: 'w1', host: 'h', leaseMs: 1_000, limit: 1, queues: null }), []);
      } finally {
        Date.now = realNow;
      }
    });
  });

  describe('resilience and storage', () => {
    it('survives its pooled connections being killed, and keeps working', async () => {
      const store = await open();
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      // Only this test's connections: make every pooled one's last statement name the schema, and find them by it.
      await Promise.all(Array.from({ length: 4 }, () => store.getJob({ id: 'a' })));
      const killed = await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, [`"${schema}"`]);
      assert.ok(killed.length > 0);
      const job = await waitFor('the store to answer again', async () => {
        try {
          return await store.getJob({ id: 'a' });
        } catch (err) {
          assert.ok(err instanceof StoreUnavailableError, `a lost connection is a StoreUnavailableError, got ${String(err)}`);
          assert.doesNotMatch(err.message, /\n/);
          return null;
        }
      });
      assert.equal(job.state, 'pending');
    });

    it('keeps output with NUL bytes and multi-byte text exactly', async () => {
      const store = await open();
      await store.enqueue({ jobs: [newJob('bin')], ifNotExists: false });
      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
      const data = 'a\u0000b é 😀\n';
      await store.appendOutput({ jobId: 'bin', attempt: claimed!.attempt, chunks: [{ stream: 'stdout', data }], limitBytes: 1_000 });
      const [chunk] = await store.readOutput({ jobId: 'bin', attempt: claimed!.attempt });
      assert.equal(chunk?.data, data);
      assert.equal((await store.listAttempts({ jobId: 'bin' }))[0]?.outputBytes, Buffer.byteLength(data));
    });

    it('bulk-enqueues across several insert batches, keeping input order for claims', async () => {
      const store = await open();
      const ids = Array.from({ length: 12_001 }, (_, i) => `bulk-${i}`);
      const results = await store.enqueue({ jobs: ids.map((id) => newJob(id)), ifNotExists: false });
      assert.deepEqual(results.map((result) => result.job.id), ids);
      assert.equal((await store.countJobs()).counts.pending, ids.length);
      assert.equal((await store.listJobs({ limit: 1 }))[0]?.id, 'bulk-12000', 'newest first');
      for (const expected of ['bulk-0', 'bulk-1', 'bulk-2']) {
        assert.equal((await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null }))[0]?.job.id, expected);
      }
      await assert.rejects(
        store.enqueue({ jobs: [newJob('fresh'), newJob('bulk-7000')], ifNotExists: false }),
        (err: unknown) => err instanceof Error && /'bulk-7000' already exists/.test(err.message),
      );
      assert.equal(await store.getJob({ id: 'fresh' }), null);
    });

    it('inserts nothing of a bulk enqueue whose later batch fails, and stays usable', async () => {
      const store = await open();
      await store.enqueue({ jobs: [newJob('taken')], ifNotExists: false });
      const ids = Array.from({ length: 12_000 }, (_, i) => `many-${i}`);
      const withTaken = ids.map((id, i) => newJob(i === 7_000 ? 'taken' : id));
      await assert.rejects(store.enqueue({ jobs: withTaken, ifNotExists: false }), (err: unknown) => err instanceof Error && /'taken' already exists/.test(err.message));
      const withNul = ids.map((id, i) => newJob(id, { command: i === 11_000 ? 'echo a\u0000b' : 'true' }));
      await assert.rejects(store.enqueue({ jobs: withNul, ifNotExists: false }), UsageError);
      assert.deepEqual((await store.countJobs()).counts.pending, 1, 'only the job enqueued first');
      const [result] = await store.enqueue({ jobs: [newJob('after')], ifNotExists: false });
      assert.equal(result?.created, true);
    });
  });
});
