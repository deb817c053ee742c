import type Database from 'better-sqlite3';
import { closeSync, openSync, readSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { isQueueError, StoreCorruptError, StoreFullError, StoreUnavailableError } from '../../core/errors';

/** What SQLite and the file system say, in queuectl's typed errors. */

const SQLITE_HEADER = 'SQLite format 3\0';
/** Tables every queuectl store has had since its first migration (other tools also name one schema_migrations). */
const QUEUECTL_TABLES = ['schema_migrations', 'jobs', 'workers', 'config'];

const codeOf = (err: unknown): string => String((err as { code?: unknown } | null)?.code ?? '');

/** Below this much free space an I/O error is taken for a full disk. */
const NEARLY_FULL_BYTES = 256 * 1024;

/**
 * True for a full disk or quota: SQLITE_FULL, ENOSPC or EDQUOT, or an I/O error (SQLite reports a -shm file it cannot
 * grow as SQLITE_IOERR_SHMSIZE, a failed write as SQLITE_IOERR_WRITE) on a file system with next to no space left.
 */
export function isDiskFull(err: unknown, path?: string): boolean {
  const code = codeOf(err);
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT') return true;
  if (!code.startsWith('SQLITE_IOERR') || path === undefined) return false;
  try {
    const stats = statfsSync(dirname(path));
    return stats.bavail * stats.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

/**
 * True for a damaged file. SQLITE_IOERR_SHORT_READ counts: a file of the store is shorter than SQLite knows it to be,
 * which is what deleting the -wal file under running workers leaves behind.
 */
function isCorrupt(err: unknown): boolean {
  const code = codeOf(err);
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_IOERR_SHORT_READ';
}

/**
 * A full disk and a damaged file become StoreFullError and StoreCorruptError; anything else is returned as it is.
 * Busy errors never get here (the store retries them).
 */
export function translateSqliteError(err: unknown, path: string): unknown {
  if (isQueueError(err)) return err;
  if (isDiskFull(err, path)) return new StoreFullError(path);
  if (isCorrupt(err)) return new StoreCorruptError(path, codeOf(err));
  return err;
}

/** Like translateSqliteError, for opening: a file that is not SQLite at all is someone else's, not a corrupt store. */
export function translateOpenError(err: unknown, path: string): unknown {
  if (isCorrupt(err) && !hasSqliteHeader(path)) {
    return new StoreUnavailableError(`${path} is not a queuectl store (it is not a SQLite database); choose another --db`);
  }
  return translateSqliteError(err, path);
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
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { name: string }[])
    .map((row) => row.name);
  if (tables.length > 0 && !QUEUECTL_TABLES.every((name) => tables.includes(name))) {
    throw new StoreUnavailableError(`${path} is not a queuectl store (it holds other tables); choose another --db`);
  }
}
