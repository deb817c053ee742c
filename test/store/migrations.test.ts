import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { Migration } from '../../src/store/migration';
import { Database as PgDatabase } from '../../src/store/postgres/connection';
import { migrate } from '../../src/store/postgres/migrate';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations/index';
import { compileQueries } from '../../src/store/postgres/queries';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { dropSchema, pgSkipReason, randomSchema, TEST_PG_URL } from '../support/temp-postgres';
import { tempDir } from '../support/temp-store';

/*
 * Migrations are frozen once shipped. These tests pin the schema a new store gets to a dump kept beside them, and
 * check that a schema made by every earlier version upgrades to exactly that. After adding a migration, regenerate the
 * dumps with `UPDATE_SCHEMA_DUMPS=1` and review their diff.
 */

const DUMPS = join(__dirname, 'schema');

function expectDump(name: string, actual: string): void {
  const path = join(DUMPS, name);
  if (process.env.UPDATE_SCHEMA_DUMPS === '1' || !existsSync(path)) {
    assert.ok(process.env.CI !== 'true' || process.env.UPDATE_SCHEMA_DUMPS === '1', `${path} is missing`);
    writeFileSync(path, actual);
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `the schema differs from ${path}`);
}

/**
 * Every shipped migration's SQL, by checksum: editing one that shipped fails here (a new migration is the way to
 * change a schema). A new migration's line is added with the dumps.
 */
function expectFrozen(store: string, migrations: readonly Migration[]): void {
  const actual = migrations.map((m) => `${store} ${m.version} ${createHash('sha256').update(m.sql).digest('hex')}`);
  const path = join(DUMPS, 'checksums.txt');
  const recorded = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith(`${store} `)) : [];
  for (const line of recorded) assert.ok(actual.includes(line), `shipped migration changed (${line.split(' ').slice(0, 2).join(' ')}); add a new migration instead`);
  if (recorded.length < actual.length) {
    assert.ok(process.env.CI !== 'true' || process.env.UPDATE_SCHEMA_DUMPS === '1', `${path} lacks ${store} migrations`);
    const others = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith(`${store} `)) : [];
    writeFileSync(path, [...others, ...actual].sort().join('\n') + '\n');
  }
}

/** Versions 1..N-1: the schemas earlier queuectl versions left behind. */
const earlierVersions = (migrations: readonly Migration[]) => migrations.slice(0, -1).map((m) => m.version);

describe('SQLite migrations', () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  const dumpSqlite = (path: string): string => {
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as
        { type: string; name: string; sql: string | null }[];
      const version = db.pragma('user_version', { simple: true });
      return [`user_version ${version}`, ...rows.map((r) => `${r.type} ${r.name}\n${r.sql ?? ''}`)].join('\n\n') + '\n';
    } finally {
      db.close();
    }
  };

  const fresh = async (): Promise<string> => {
    const path = join(dir, 'fresh.db');
    await SqliteStore.open(path).close();
    return dumpSqlite(path);
  };

  it('keeps every shipped migration as it shipped', () => expectFrozen('sqlite', SQLITE_MIGRATIONS));

  it('gives a new store the recorded schema', async () => {
    expectDump('sqlite.sql', await fresh());
  });

  for (const version of earlierVersions(SQLITE_MIGRATIONS)) {
    it(`upgrades a store made at version ${version} to the same schema`, async () => {
      const path = join(dir, `v${version}.db`);
      const old = new Database(path);
      old.pragma('journal_mode = WAL');
      for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= version)) {
        old.exec(migration.sql);
        old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(migration.version, migration.name);
      }
      old.pragma(`user_version = ${version}`);
      old.close();
      await SqliteStore.open(path).close();
      assert.equal(dumpSqlite(path), await fresh());
    });
  }
});

describe('PostgreSQL migrations', { skip: pgSkipReason() }, () => {
  const schemas: string[] = [];
  after(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  const migrateTo = async (migrations: readonly Migration[]): Promise<string> => {
    const schema = randomSchema();
    schemas.push(schema);
    const queries = compileQueries(schema);
    const db = new PgDatabase(TEST_PG_URL, TEST_PG_URL, new Map());
    try {
      await migrate({ schema, location: TEST_PG_URL, queries, db, migrations });
      if (migrations !== POSTGRES_MIGRATIONS) await migrate({ schema, location: TEST_PG_URL, queries, db });
    } finally {
      await db.end();
    }
    return schema;
  };

  /** Tables, columns, constraints, indexes and functions, with the schema's name taken out. */
  const dumpPostgres = async (schema: string): Promise<string> => {
    const client = new Client({ connectionString: TEST_PG_URL });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const lines = async (sql: string): Promise<string[]> =>
        (await client.query<{ line: string }>(sql, sql.includes('$1') ? [schema] : [])).rows.map((r) => r.line.split(schema).join('@schema'));
      const sections = [
        await lines(`SELECT table_name || '.' || column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
                            || coalesce(' default ' || column_default, '') AS line
                       FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`),
        await lines(`SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS line
                       FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1`),
        await lines(`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`),
        await lines(`SELECT pg_get_functiondef(p.oid) AS line FROM pg_proc p WHERE p.pronamespace = $1::regnamespace ORDER BY p.proname`),
        await lines(`SELECT version || ' ' || name AS line FROM "${schema}".schema_migrations ORDER BY version`),
      ];
      return sections.map((s) => s.join('\n')).join('\n\n') + '\n';
    } finally {
      await client.end();
    }
  };

  it('keeps every shipped migration as it shipped', () => expectFrozen('postgres', POSTGRES_MIGRATIONS));

  it('gives a new schema the recorded schema', async () => {
    expectDump('postgres.sql', await dumpPostgres(await migrateTo(POSTGRES_MIGRATIONS)));
  });

  for (const version of earlierVersions(POSTGRES_MIGRATIONS)) {
    it(`upgrades a schema made at version ${version} to the same schema`, async () => {
      const upgraded = await migrateTo(POSTGRES_MIGRATIONS.filter((m) => m.version <= version));
      const fresh = await migrateTo(POSTGRES_MIGRATIONS);
      assert.equal(await dumpPostgres(upgraded), await dumpPostgres(fresh));
    });
  }
});
