/**
 * One numbered, forward-only schema migration. Once shipped its SQL never changes: a later change is a new migration,
 * so a schema made by any earlier version upgrades to the same result as a new one (test/store/migrations.test.ts).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
