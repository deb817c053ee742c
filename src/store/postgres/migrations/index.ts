import type { Migration } from '../../migration';
import { migration as m001 } from './001-initial-schema';
import { migration as m002 } from './002-finish-hooks';
import { migration as m003 } from './003-lifecycle-functions';
import { migration as m004 } from './004-no-worker-row-writes';
import { migration as m005 } from './005-schedules';
import { migration as m006 } from './006-stats-indexes';
import { migration as m007 } from './007-queues';
import { migration as m008 } from './008-claim-leftover-wakes';
import { migration as m009 } from './009-batched-finishes';
import { migration as m010 } from './010-rate-catch-up';
import { migration as m011 } from './011-one-statement-per-report';

/**
 * The PostgreSQL store's migrations, in order. `@schema` stands for the quoted schema name (see `withSchema` in
 * queries.ts). Times are bigint epoch milliseconds computed from the database's `now()`: the same arithmetic as the
 * SQLite store, exact round trips of the times users give, and no overflow on a huge backoff or delay.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
