import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store';
import type { Backend } from './backends';
import type { TempStore } from './temp-store';

/** The server the PostgreSQL tests use; each test gets its own schema in it. */
export const TEST_PG_URL = process.env.QUEUECTL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh random schema name, `qtest_<random>`. */
export function randomSchema(): string {
  return `qtest_${randomBytes(6).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: TEST_PG_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A PostgresStore in a fresh schema of the server at `url` (the shared test server by default); cleanup closes it and,
 * on the shared server, drops the schema (a private server is thrown away whole).
 */
export async function tempPostgresStore(url = TEST_PG_URL): Promise<TempStore> {
  const schema = randomSchema();
  const store = await PostgresStore.open(url, { schema });
  return {
    store,
    location: url,
    env: { QUEUECTL_SCHEMA: schema },
    cleanup: async () => {
      await store.close();
      if (url === TEST_PG_URL) await dropSchema(schema);
    },
  };
}

/** The PostgreSQL backend on the server at `url` (e.g. a private one), for suites that run on PostgreSQL alone. */
export function postgresBackend(url = TEST_PG_URL): Backend {
  return { name: 'postgres', make: () => tempPostgresStore(url), skip: url === TEST_PG_URL ? pgSkipReason() : false };
}

const PROBE_TIMEOUT_MS = 3_000;

/** A one-line reason why the test server cannot be used, from a connection error. */
function unreachable(reason: string): string {
  return `PostgreSQL is not reachable at ${TEST_PG_URL} (${reason.replace(/\s+/g, ' ').trim()}); start it or set QUEUECTL_TEST_PG`;
}

let availability: Promise<true | string> | undefined;

/** True when the test server answers, else a one-line reason. Checked once per process. */
export function postgresAvailable(): Promise<true | string> {
  availability ??= (async () => {
    const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true as const;
    } catch (err) {
      return unreachable((err as Error).message || (err as { code?: string }).code || String(err));
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

let skipReason: string | false | undefined;

/**
 * The `skip` option of PostgreSQL suites, known when `describe` is called (so the probe runs synchronously, in a child
 * process): false when the server answers; otherwise a one-line reason to skip, except under CI=true, where a
 * missing server must fail the run, so the suites run and fail.
 */
export function pgSkipReason(): string | false {
  if (skipReason !== undefined) return skipReason;
  const probe = `
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const client = new Client({ connectionString: process.env.PROBE_URL, connectionTimeoutMillis: ${PROBE_TIMEOUT_MS} });
    client.on('error', () => {});
    client.connect().then(() => client.query('SELECT 1')).then(
      () => { process.stdout.write('ok'); return client.end(); },
      (err) => { process.stdout.write(err.message || err.code || String(err)); process.exit(0); });`;
  let outcome: string;
  try {
    outcome = execFileSync(process.execPath, ['-e', probe], {
      env: { ...process.env, PROBE_URL: TEST_PG_URL },
      encoding: 'utf8',
      timeout: PROBE_TIMEOUT_MS * 3,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    outcome = (err as Error).message;
  }
  skipReason = outcome === 'ok' || process.env.CI === 'true' ? false : unreachable(outcome);
  return skipReason;
}
