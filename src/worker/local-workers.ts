import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isPostgresUrl } from '../store/open-store';
import { isProcessAlive, processStartTime } from '../platform/process-info';

/**
 * This host's record of the worker processes serving a SQLite store, apart from the store itself: a directory beside
 * the store file with one file per worker, named by its pid and holding its start time. `worker stop` falls back to
 * it when the store cannot be read (a corrupt file), so workers can still be stopped; a recorded pid is signalled
 * only while it names the same process (its start time matches), never a recycled one.
 */
export interface LocalWorker {
  pid: number;
  pidStart: string;
}

/** The directory for a store's workers; null for PostgreSQL, whose workers are reached through the server. */
export function localWorkersDir(storePath: string): string | null {
  return isPostgresUrl(storePath) ? null : `${storePath}.workers`;
}

/** Records this process as a worker of `storePath`; returns the function that removes the record. Best effort. */
export function recordLocalWorker(storePath: string): () => void {
  const dir = localWorkersDir(storePath);
  if (dir === null) return () => undefined;
  const file = `${dir}/${process.pid}`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${processStartTime(process.pid) ?? ''}\n`, { mode: 0o600 });
  } catch {
    // Without the record only the fallback of `worker stop` is lost; the store still lists this worker.
    return () => undefined;
  }
  return () => forget(file);
}

function forget(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // A stale record is harmless: its pid and start time no longer name a running process.
  }
}

/** The recorded workers of `storePath` that still run; records of processes gone are removed. */
export function listLocalWorkers(storePath: string): LocalWorker[] {
  const dir = localWorkersDir(storePath);
  if (dir === null) return [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const alive: LocalWorker[] = [];
  for (const name of names) {
    let pidStart: string | null;
    try {
      pidStart = readFileSync(`${dir}/${name}`, 'utf8').trim() || null;
    } catch {
      continue;
    }
    // Without a start time a recycled pid could not be told apart: such a record is never acted on.
    if (pidStart !== null && isProcessAlive(Number(name), pidStart)) alive.push({ pid: Number(name), pidStart });
    else forget(`${dir}/${name}`);
  }
  return alive;
}
