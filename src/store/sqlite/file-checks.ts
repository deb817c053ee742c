import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { isQueueError, StoreCorruptError, StoreFullError, StoreUnavailableError } from '../../core/errors';

/** What SQLite and the file system say, in queuectl's typed errors. */

const SQLITE_HEADER = 'SQLite format 3\0';
/** Tables every queuectl store has had since its first migration (other tools also name one schema_migrations). */
const QUEUECTL_TABLES = ['schema_migrations', 'jobs', 'workers', 'config'];

const codeOf = (err: unknown): string => String((err as { code?: unknown } | null)?.code ?? '');

/** True for a full disk or quota, from SQLite (SQLITE_FULL) or from a file operation (ENOSPC, EDQUOT). */
export function isDiskFull(err: unknown): boolean {
  const code = codeOf(err);
  return code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT';
}

function isCorrupt(err: unknown): boolean {
  const code = codeOf(err);
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
}

/**
 * A full disk and a damaged file become StoreFullError and StoreCorruptError; anything else is returned as it is.
 * Busy errors never get here (the store retries them).
 */
export function translateSqliteError(err: unknown, path: string): unknown {
  if (isQueueError(err)) return err;
  if (isDiskFull(err)) return new StoreFullError(path);
  if (isCorrupt(err)) return new StoreCorruptError(path, codeOf(err));
  return err;
}

/** True when the file starts with SQLite's header; an empty or unreadable file does not. */
function hasSqliteHeader(path: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const header = Buffer.alloc(SQLITE_HEADER.length);
    return readSync(fd, header, 0, header.length, 0) === header.length && header.toString('latin1') === SQLITE_HEADER;
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Refuses a file that is not ours before anything writes to it (journal_mode = WAL rewrites the header; a migration
 * adds tables): it must be empty, or hold queuectl's bookkeeping table. Only reads.
 */
export function assertQueuectlFile(db: Database.Database, path: string): void {
  let tables: string[];
  try {
    tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { name: string }[])
      .map((row) => row.name);
  } catch (err) {
    if (isCorrupt(err) && !hasSqliteHeader(path)) {
      throw new StoreUnavailableError(`${path} is not a queuectl store (it is not a SQLite database); choose another --db`);
    }
    throw translateSqliteError(err, path);
  }
  if (tables.length > 0 && !QUEUECTL_TABLES.every((name) => tables.includes(name))) {
    throw new StoreUnavailableError(`${path} is not a queuectl store (it holds other tables); choose another --db`);
  }
}
