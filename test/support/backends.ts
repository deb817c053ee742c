import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempSqliteStore, type TempStore } from './temp-store';

/** A store backend an end-to-end suite runs against: `describe(name, { skip }, …)` and `make()` per test. */
export interface Backend {
  name: string;
  make: () => Promise<TempStore>;
  /** false to run; otherwise the one-line reason the suite is skipped. */
  skip: string | false;
}

/** The parts of ./temp-postgres this file uses; required lazily, as it may not exist in every checkout. */
interface TempPostgresModule {
  tempPostgresStore: () => Promise<TempStore>;
  pgSkipReason: () => string | false;
}

const TEMP_POSTGRES = join(__dirname, 'temp-postgres.ts');

/** SQLite always; PostgreSQL too, skipped with a reason when its test server is unreachable (never under CI=true). */
export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'sqlite', make: () => tempSqliteStore(), skip: false }];
  if (!existsSync(TEMP_POSTGRES)) {
    list.push({ name: 'postgres', make: () => Promise.reject(new Error('test/support/temp-postgres.ts is missing')), skip: 'test/support/temp-postgres.ts is missing' });
    return list;
  }
  const postgres = require(TEMP_POSTGRES) as TempPostgresModule;
  list.push({ name: 'postgres', make: () => postgres.tempPostgresStore(), skip: postgres.pgSkipReason() });
  return list;
}
