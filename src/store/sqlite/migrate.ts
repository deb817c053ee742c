import { StoreUnavailableError } from '../../core/errors';
import type { Connection } from './connection';
import { assertQueuectlFile } from './file-checks';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './migrations/index';

/**
 * Brings the file's schema up to date, waiting out other processes that hold the lock. An up-to-date file costs one
 * read; otherwise each pending migration runs in its own IMMEDIATE transaction, re-reading the version under the lock.
 */
export function migrate(connection: Connection): void {
  const { db, location } = connection;
  connection.openingStep(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new StoreUnavailableError(
        `database ${location} has schema version ${version}, newer than this queuectl understands (${SQLITE_SCHEMA_VERSION}); upgrade queuectl`,
      );
    }
    if (version === SQLITE_SCHEMA_VERSION) return;
    assertQueuectlFile(db, location);
    db.pragma('journal_mode = WAL');
    for (const migration of SQLITE_MIGRATIONS) {
      db.transaction(() => {
        // Re-read inside the write lock: another process may have migrated meanwhile.
        const current = db.pragma('user_version', { simple: true }) as number;
        if (current >= migration.version) return;
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
        db.pragma(`user_version = ${migration.version}`);
      }).immediate();
    }
  });
}
