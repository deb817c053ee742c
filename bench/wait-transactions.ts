/**
 * What `queuectl wait` costs PostgreSQL while it waits: transactions per second committed while one `wait` blocks on
 * N jobs that do not finish (pending, due in an hour), measured as the delta of `pg_stat_database.xact_commit`.
 *
 * The store lives in a database of its own, created for the run and dropped after, so the counter holds the waiter's
 * transactions alone however busy the shared server is (its set-up is flushed to the counter before the first read:
 * a backend reports its counts when it exits). The figure includes the waiter's start-up (opening the store) and its
 * periodic check for a live worker: everything a user's `wait` costs. `idleTransactions` is what the same database
 * committed over as long a window with nobody connected (the autovacuum launcher's visits): the noise floor.
 *
 *   node --import tsx bench/wait-transactions.ts [--ids 500] [--seconds 3]   (run `npm run build` first)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { parseJobSpec } from '../src/core/job-spec';
import { PostgresStore } from '../src/store/postgres/postgres-store';

const SERVER = process.env.QUEUECTL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLI = join(__dirname, '..', 'dist', 'cli', 'bin.js');
/** The server reports a backend's counts when it exits and at most once a second while it runs. */
const STATS_FLUSH_MS = 1_500;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function commits(admin: Client, database: string): Promise<number> {
  await admin.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await admin.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [database]);
  return Number(rows[0]!.n);
}

async function main(): Promise<void> {
  const count = flag('--ids', 500);
  const seconds = flag('--seconds', 3);
  const database = `qwait_${randomBytes(4).toString('hex')}`;
  const url = new URL(SERVER);
  url.pathname = `/${database}`;
  const admin = new Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  try {
    const store = await PostgresStore.open(url.toString());
    const jobs = Array.from({ length: count }, (_, i) => parseJobSpec({ id: `w${i}`, command: 'true', delay: 3600 }, process.cwd()).job);
    await store.enqueue({ jobs, ifNotExists: false });
    await store.close();
    await sleep(STATS_FLUSH_MS);

    // What the database commits with nobody connected (the autovacuum launcher visits it), over as long a window.
    const idleBefore = await commits(admin, database);
    await sleep(seconds * 1000);
    await sleep(STATS_FLUSH_MS);
    const idle = (await commits(admin, database)) - idleBefore;

    const before = await commits(admin, database);
    const started = Date.now();
    const waited = spawnSync(process.execPath, [CLI, 'wait', ...jobs.map((job) => job.id), '--timeout', `${seconds}s`], {
      env: { ...process.env, QUEUECTL_DB: url.toString() },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const elapsedS = (Date.now() - started) / 1000;
    if (waited.status !== 124) throw new Error(`wait exited ${waited.status}, expected 124 (timed out): ${waited.stderr}`);
    await sleep(STATS_FLUSH_MS);
    const delta = (await commits(admin, database)) - before;
    console.log(JSON.stringify({ ids: count, waitedSeconds: elapsedS, transactions: delta, perSecond: Math.round(delta / elapsedS), idleTransactions: idle }));
  } finally {
    await admin.query(`DROP DATABASE "${database}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
