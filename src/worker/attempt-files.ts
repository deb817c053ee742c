import { closeSync, fstatSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputStream } from '../core/job';

/**
 * The files of one attempt in its worker's capture directory: `<name>.out` and `<name>.err` (the command's output),
 * `<name>.status` (its exit status, written by its shell as it exits: see the runner) and `<name>.pos` (how far the
 * worker had read the output). A reaper recovering the attempt of a worker that died on this host reads them to learn
 * how the command really ended and what it wrote last.
 */
export const OUT_SUFFIX = '.out';
export const ERR_SUFFIX = '.err';
export const STATUS_SUFFIX = '.status';
export const POSITIONS_SUFFIX = '.pos';

/**
 * The attempt's file name, known to its worker and to a reaper alike. Job ids may hold `/`: base64url keeps any id a
 * plain file name (128 characters of id give 171).
 */
export function attemptFileName(jobId: string, attempt: number): string {
  return `${Buffer.from(jobId).toString('base64url')}.${attempt}`;
}

const POSITION_WIDTH = 16;

/** Both read offsets, fixed-width so an overwrite in place never leaves a longer old value's tail behind. */
export function formatPositions(offsets: readonly [number, number]): string {
  return offsets.map((offset) => String(offset).padStart(POSITION_WIDTH, '0')).join(' ');
}

function parsePositions(text: string): [number, number] {
  const match = /^(\d{16}) (\d{16})$/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/** The exit status the attempt's shell wrote as it exited, or null (still running, killed by a signal, or `exec`). */
export function readExitStatus(dir: string, name: string): number | null {
  try {
    const match = /^(\d{1,3})\n$/.exec(readFileSync(join(dir, `${name}${STATUS_SUFFIX}`), 'latin1'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export interface SalvagedOutput {
  chunks: { stream: OutputStream; data: string }[];
  /** Some of what was left was skipped (past the limit) or unreadable. */
  truncated: boolean;
}

/**
 * What a dead worker had not read yet of an attempt's output: each stream from where the worker got to, at most its
 * last `limitBytes`. Output the worker read but had not stored yet is lost with it.
 */
export function salvageOutput(dir: string, name: string, limitBytes: number): SalvagedOutput {
  let positions: [number, number] = [0, 0];
  try {
    positions = parsePositions(readFileSync(join(dir, `${name}${POSITIONS_SUFFIX}`), 'latin1'));
  } catch {
    // Never read while it ran: all of it is new.
  }
  const salvaged: SalvagedOutput = { chunks: [], truncated: false };
  for (const [index, stream, suffix] of [[0, 'stdout', OUT_SUFFIX], [1, 'stderr', ERR_SUFFIX]] as const) {
    let fd: number;
    try {
      fd = openSync(join(dir, `${name}${suffix}`), 'r');
    } catch {
      continue;
    }
    try {
      const size = fstatSync(fd).size;
      let from = positions[index] <= size ? positions[index] : 0;
      if (size - from > limitBytes) {
        from = size - limitBytes;
        salvaged.truncated = true;
      }
      const data = Buffer.alloc(size - from);
      let got = 0;
      while (got < data.length) {
        const n = readSync(fd, data, got, data.length - got, from + got);
        if (n === 0) break;
        got += n;
      }
      let start = 0;
      while (from > 0 && start < 3 && start < got && (data[start]! & 0xc0) === 0x80) start++;
      if (got > start) salvaged.chunks.push({ stream, data: data.subarray(start, got).toString() });
    } catch {
      salvaged.truncated = true;
    } finally {
      closeSync(fd);
    }
  }
  return salvaged;
}

/** Deletes an attempt's files (a reaper's, once it recorded the attempt). */
export function removeAttemptFiles(dir: string, name: string): void {
  for (const suffix of [OUT_SUFFIX, ERR_SUFFIX, STATUS_SUFFIX, POSITIONS_SUFFIX]) rmSync(join(dir, `${name}${suffix}`), { force: true });
}
