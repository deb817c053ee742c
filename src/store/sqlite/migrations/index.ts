import type { Migration } from '../../migration';
import { migration as m001 } from './001-initial-schema';
import { migration as m002 } from './002-finish-hooks';
import { migration as m003 } from './003-attempts-without-rowid';
import { migration as m004 } from './004-schedules';
import { migration as m005 } from './005-stats-indexes';
import { migration as m006 } from './006-queues';

/**
 * The SQLite store's migrations, in order. Each runs in one transaction; `PRAGMA user_version` holds the version so
 * opening an up-to-date database costs one read.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006];

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;
