import { accessSync, closeSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from '../core/job';
import { ERR_SUFFIX, formatPositions, OUT_SUFFIX, POSITIONS_SUFFIX, STATUS_SUFFIX } from './attempt-files';
import { punchHole } from './spawn';

const READ_CHUNK = 64 * 1024;
const TMPFS_MAGIC = 0x01021994;
/** /dev/shm is used only with this much room: a small one (Docker's is 64 MiB) would fill up. */
const SHM_MIN_FREE = 1024 * 1024 * 1024;

/**
 * Where workers make their capture directories, best first: the user's runtime directory (a private tmpfs), $TMPDIR
 * when set, /dev/shm when it is a roomy tmpfs, else the system's temp directory. A tmpfs matters: a busy worker
 * creates and deletes two files per job, and on a disk file system that churn is dear (measured in a drain here: the
 * two creates took 0.21 ms of CPU per job on ext4 without a journal; a whole create-and-delete cycle takes 0.03 ms on
 * tmpfs).
 */
function captureRoots(): string[] {
  const roots: string[] = [];
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) roots.push(runtime);
  if (process.env.TMPDIR) roots.push(process.env.TMPDIR);
  roots.push('/dev/shm', tmpdir());
  return roots;
}

function usable(root: string): boolean {
  try {
    accessSync(root, constants.W_OK | constants.X_OK);
    if (root !== '/dev/shm') return true;
    const fs = statfsSync(root);
    return fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= SHM_MIN_FREE;
  } catch {
    return false;
  }
}

const directoryName = (workerId: string) => `queuectl-${workerId}`;

/**
 * Creates the worker's capture directory, readable by its owner only, in the first usable root. `mkdir` fails on an
 * existing path, so a directory someone else prepared (or a symlink) is never used.
 */
export function createCaptureDirectory(workerId: string): string {
  const root = captureRoots().find(usable) ?? tmpdir();
  const dir = join(root, directoryName(workerId));
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/**
 * A worker's capture directory, for a reaper on the same host, or null. Only a private directory of ours counts: what
 * is in it decides how an attempt is recorded, so one another user could have prepared is never read.
 */
export function findCaptureDirectory(workerId: string): string | null {
  for (const root of new Set(captureRoots())) {
    const dir = join(root, directoryName(workerId));
    try {
      const stat = lstatSync(dir);
      if (stat.isDirectory() && (stat.mode & 0o077) === 0 && stat.uid === process.getuid?.()) return dir;
    } catch {
      // Not in this root.
    }
  }
  return null;
}

/** Removes a worker's capture directory from every root this process would use, with whatever a crash left in it. */
export function removeCaptureDirectory(workerId: string): void {
  for (const root of new Set(captureRoots())) rmSync(join(root, directoryName(workerId)), { recursive: true, force: true });
}

/** A capture file freed in place (see OutputCapture.free) is emptied instead once this long: 1 TiB. */
const MAX_SPARSE_BYTES = 2 ** 40;

let sequence = 0;
/**
 * One read buffer for every capture of the process (reads are synchronous): a buffer per attempt would leave
 * garbage outside V8's heap until a collection, and a bigger process makes every later `fork` slower.
 */
let readBuffer: Buffer | null = null;

/** A capture file is emptied once this much of it was read, or twice the output limit if that is more. */
export const MIN_CAPTURE_FILE_LIMIT = 4 * 1024 * 1024;

/** What one `read()` found. */
export interface CaptureRead {
  /** The most bytes new in one stream: a file filling fast should be read again soon (see the runner's poll). */
  newBytes: number;
}

/** Where one capture's output goes: its text, stdout first, and word that some of it was lost. */
export interface OutputSink {
  output(stream: OutputStream, data: string): void;
  dropped(): void;
}

/**
 * One attempt's stdout and stderr, each written by the command straight into a file of its own (as pueue and
 * task-spooler do) rather than through pipes the worker must service: a job never blocks on a slow reader, a
 * process it leaves behind holding the file open does not hold the job, and spawning costs two `open`s instead of
 * two socket pairs with their stream objects. The worker reads what is new with `read()`, while the job runs and
 * once more when it has exited.
 *
 * Memory and disk stay bounded by the output limit whatever the job writes: a read takes at most the last
 * `limitBytes` of what is new in a file (seeking past the rest, which the store would drop anyway), and what was read
 * of a file is freed (in place where it can be, see free) once `max(MIN_CAPTURE_FILE_LIMIT, 2 × limitBytes)` of it
 * was read.
 */
export class OutputCapture {
  /** The files' descriptors, for the child's stdout and stderr. */
  readonly fds: [number, number];
  /** Where the command's shell writes its exit status (see the runner), and a reaper looks for it. */
  readonly statusPath: string;
  private readonly paths: [string, string];
  private readonly positionsPath: string;
  private positionsFd: number | null = null;
  private readonly offsets: [number, number] = [0, 0];
  /** How far each file's read bytes have been freed in place (see free). */
  private readonly punched: [number, number] = [0, 0];
  private readonly decoders: [StringDecoder, StringDecoder] = [new StringDecoder('utf8'), new StringDecoder('utf8')];
  /** A stream's next bytes follow a skip: a partial character at their start is dropped. */
  private readonly skipped: [boolean, boolean] = [false, false];
  /** A file is emptied once this much of it was read. */
  readonly emptyAt: number;

  /**
   * Opens two new files in `dir`, named `name` (see attemptFileName); O_APPEND, so after the worker empties a file the
   * command writes from its start.
   */
  constructor(
    dir: string,
    private readonly limitBytes: number,
    name = `${process.pid}-${++sequence}`,
  ) {
    this.emptyAt = Math.max(MIN_CAPTURE_FILE_LIMIT, 2 * limitBytes);
    const base = join(dir, name);
    this.paths = [`${base}${OUT_SUFFIX}`, `${base}${ERR_SUFFIX}`];
    this.statusPath = `${base}${STATUS_SUFFIX}`;
    this.positionsPath = `${base}${POSITIONS_SUFFIX}`;
    const out = openSync(this.paths[0], 'ax+', 0o600);
    try {
      this.fds = [out, openSync(this.paths[1], 'ax+', 0o600)];
    } catch (err) {
      closeSync(out);
      unlinkSync(this.paths[0]);
      throw err;
    }
  }

  /** Hands what the command wrote since the last call to `sink`, stdout first; never throws. */
  read(sink: OutputSink, final = false): CaptureRead {
    const newBytes = Math.max(this.readStream(0, 'stdout', sink, final), this.readStream(1, 'stderr', sink, final));
    // A reaper salvaging the output of a worker that died reads on from here (see salvageAttempt).
    if (!final && newBytes > 0) this.savePositions();
    return { newBytes };
  }

  /** Reads one stream; returns how many bytes were new. */
  private readStream(index: 0 | 1, stream: OutputStream, sink: OutputSink, final: boolean): number {
    const fd = this.fds[index];
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch {
      // An unreadable file (a full or failing disk) costs the output, never the job's result.
      sink.dropped();
      return 0;
    }
    if (size < this.offsets[index]) this.offsets[index] = this.punched[index] = 0;
    const newBytes = size - this.offsets[index];
    this.readRange(index, stream, size, sink);
    if (final) {
      const rest = this.decoders[index].end();
      if (rest) sink.output(stream, rest);
    } else if (this.offsets[index] - this.punched[index] >= this.emptyAt) {
      this.free(index, stream, sink);
    }
    return newBytes;
  }

  /**
   * Frees what was read. In place where it can (the addon's fallocate, on tmpfs and the usual Linux file systems): the
   * file keeps its size and the command appends on, so nothing it writes meanwhile is lost, whatever the timing. Else,
   * and once a file's size nears MAX_SPARSE_BYTES (far from any file size limit), it is emptied (see empty).
   */
  private free(index: 0 | 1, stream: OutputStream, sink: OutputSink): void {
    const offset = this.offsets[index];
    if (offset >= MAX_SPARSE_BYTES) return this.empty(index, stream, sink);
    // A salvage after a crash reads on from the saved positions: never from inside the hole about to be made.
    this.savePositions();
    if (punchHole(this.fds[index], this.punched[index], offset - this.punched[index])) {
      this.punched[index] = offset;
      return;
    }
    this.empty(index, stream, sink);
  }

  /** Reads the stream up to `end`, skipping all but its last `limitBytes`. */
  private readRange(index: 0 | 1, stream: OutputStream, end: number, sink: OutputSink): void {
    if (end - this.offsets[index] > this.limitBytes) {
      this.offsets[index] = end - this.limitBytes;
      this.decoders[index] = new StringDecoder('utf8');
      this.skipped[index] = true;
      sink.dropped();
    }
    const buffer = (readBuffer ??= Buffer.allocUnsafe(READ_CHUNK));
    while (this.offsets[index] < end) {
      let n = 0;
      try {
        n = readSync(this.fds[index], buffer, 0, Math.min(READ_CHUNK, end - this.offsets[index]), this.offsets[index]);
      } catch {
        sink.dropped();
      }
      if (n === 0) break;
      this.offsets[index] += n;
      let start = 0;
      if (this.skipped[index]) {
        // The skip may have cut a character: its continuation bytes would decode to replacement characters.
        while (start < n && start < 3 && (buffer[start]! & 0xc0) === 0x80) start++;
        this.skipped[index] = false;
      }
      const text = this.decoders[index].write(buffer.subarray(start, n));
      if (text) sink.output(stream, text);
    }
  }

  /**
   * Empties a file read this far, once nothing unread is left in it (reading on a few times if need be): what the
   * command writes between that check and the cut is lost, an instant's worth. A file that never stops filling is left
   * for the next read, until it is four times as long: then it is read up to its end once more (its last `limitBytes`,
   * as always) and cut at once, so only what lands between that read and the cut is lost (flagged), never the tail the
   * command wrote before it.
   */
  private empty(index: 0 | 1, stream: OutputStream, sink: OutputSink): void {
    try {
      for (let tries = 0; ; tries++) {
        const size = fstatSync(this.fds[index]).size;
        if (size === this.offsets[index]) {
          ftruncateSync(this.fds[index], 0);
          this.offsets[index] = this.punched[index] = 0;
          return;
        }
        if (tries === 8) {
          if (size < 4 * this.emptyAt) return;
          this.readRange(index, stream, size, sink);
          ftruncateSync(this.fds[index], 0);
          // A writer that never paused may have added bytes between that read and the cut: flagged as lost.
          sink.dropped();
          this.offsets[index] = this.punched[index] = 0;
          return;
        }
        this.readRange(index, stream, size, sink);
      }
    } catch {
      // Left to grow; the next read tries again.
    }
  }

  private savePositions(): void {
    try {
      this.positionsFd ??= openSync(this.positionsPath, 'w', 0o600);
      writeSync(this.positionsFd, formatPositions(this.offsets), 0);
    } catch {
      // Only a salvage after a crash needs them; it then reads the files from their start.
    }
  }

  /** Closes and deletes its files; a process still holding them open writes on into a file nobody can see. */
  close(): void {
    for (const fd of this.fds) closeSync(fd);
    if (this.positionsFd !== null) closeSync(this.positionsFd);
    const paths = this.positionsFd === null ? [...this.paths, this.statusPath] : [...this.paths, this.statusPath, this.positionsPath];
    for (const path of paths) {
      try {
        unlinkSync(path);
      } catch {
        // Never made (the status of a shell killed by a signal), or already gone with its directory (removed by
        // hand, or by a tmp cleaner): nothing is left to delete.
      }
    }
  }
}
