import { NotFoundError, StoreUnavailableError } from '../../core/errors';
import type { Migration } from '../migration';
import type { Executor } from './connection';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './migrations/index';
import { withSchema, type Queries } from './queries';

/** Where to migrate: the schema, and the pool to run on. */
export interface MigrationTarget {
  schema: string;
  location: string;
  queries: Pick<Queries, 'MIGRATION_LOCK' | 'CREATE_SCHEMA' | 'CREATE_MIGRATIONS_TABLE' | 'SCHEMA_VERSION' | 'RECORD_MIGRATION'>;
  db: Executor & { transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> };
  /** The migrations to apply; all of them unless a test stops at an earlier version. */
  migrations?: readonly Migration[];
  /** False: a schema with nothing applied is NotFoundError (a read command on a mistyped schema or database). */
  create?: boolean;
}

/**
 * Brings the schema up to date. An up-to-date schema costs one read and needs no CREATE privilege; otherwise each
 * pending migration runs in its own transaction holding the schema's advisory lock, re-reading the version under it.
 */
export async function migrate(target: MigrationTarget): Promise<void> {
  const { queries: Q, db } = target;
  const migrations = target.migrations ?? POSTGRES_MIGRATIONS;
  let version = 0;
  try {
    version = (await db.query<{ version: number }>(Q.SCHEMA_VERSION))[0]?.version ?? 0;
  } catch (err) {
    // undefined_table / invalid_schema_name: nothing applied yet.
    const code = (err as { code?: unknown }).code;
    if (code !== '42P01' && code !== '3F000') throw err;
  }
  refuseNewer(target, version);
  if (version === POSTGRES_SCHEMA_VERSION) return;
  if (version === 0 && target.create === false) {
    throw new NotFoundError(`no queue in schema "${target.schema}" at ${target.location}; 'queuectl init' or 'queuectl enqueue' creates one`);
  }

  for (const migration of migrations) {
    if (migration.version <= version) continue;
    version = await db.transaction(async (tx) => {
      await tx.query(Q.MIGRATION_LOCK, [`queuectl:${target.schema}`]);
      await tx.query(Q.CREATE_SCHEMA);
      await tx.query(Q.CREATE_MIGRATIONS_TABLE);
      const current = (await tx.query<{ version: number }>(Q.SCHEMA_VERSION))[0]?.version ?? 0;
      refuseNewer(target, current);
      if (current >= migration.version) return current;
      // Bookkeeping first: a migrator that somehow got past the lock fails on the primary key instead of re-applying.
      await tx.query(Q.RECORD_MIGRATION, [migration.version, migration.name]);
      await tx.query(withSchema(migration.sql, target.schema));
      return migration.version;
    });
  }
}

function refuseNewer(target: MigrationTarget, version: number): void {
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new StoreUnavailableError(
      `PostgreSQL schema "${target.schema}" at ${target.location} has version ${version}, newer than this queuectl understands (${POSTGRES_SCHEMA_VERSION}); upgrade queuectl`,
    );
  }
}
