import { accessSync, closeSync, constants, ftruncateSync, mkdirSync, openSync, readSync, rmSync, statfsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from '../core/job';

/** A capture file is never emptied below this size (see OutputCapture.read). */
export const MIN_CAPTURE_FILE_LIMIT = 16 * 1024 * 1024;
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

/** Removes a worker's capture directory from every root this process would use, with whatever a crash left in it. */
export function removeCaptureDirectory(workerId: string): void {
  for (const root of new Set(captureRoots())) rmSync(join(root, directoryName(workerId)), { recursive: true, force: true });
}

let sequence = 0;
/**
 * One read buffer for every capture of the process (reads are synchronous): a buffer per attempt would leave
 * garbage outside V8's heap until a collection, and a bigger process makes every later `fork` slower.
 */
let readBuffer: Buffer | null = null;

/**
 * One attempt's stdout and stderr, each written by the command straight into a file of its own (as pueue and
 * task-spooler do) rather than through pipes the worker must service: a job never blocks on a slow reader, a
 * process it leaves behind holding the file open does not hold the job, and spawning costs two `open`s instead of
 * two socket pairs with their stream objects. The worker reads what is new with `read()`, while the job runs and
 * once more when it has exited.
 */
export class OutputCapture {
  /** The files' descriptors, for the child's stdout and stderr. */
  readonly fds: [number, number];
  private readonly paths: [string, string];
  private readonly offsets: [number, number] = [0, 0];
  private readonly decoders: [StringDecoder, StringDecoder] = [new StringDecoder('utf8'), new StringDecoder('utf8')];

  /**
   * Opens two new files in `dir`; O_APPEND, so after the worker empties a file the command writes from its start.
   * A file is emptied once `limitBytes` of it were read.
   */
  constructor(
    dir: string,
    private readonly limitBytes: number,
  ) {
    const base = join(dir, String(++sequence));
    this.paths = [`${base}.out`, `${base}.err`];
    const out = openSync(this.paths[0], 'ax+', 0o600);
    try {
      this.fds = [out, openSync(this.paths[1], 'ax+', 0o600)];
    } catch (err) {
      closeSync(out);
      unlinkSync(this.paths[0]);
      throw err;
    }
  }

  /** Hands what the command wrote since the last call to `onOutput`, stdout first; never throws. */
  read(onOutput: (stream: OutputStream, data: string) => void, final = false): void {
    this.readStream(0, 'stdout', onOutput, final);
    this.readStream(1, 'stderr', onOutput, final);
  }

  private readStream(index: 0 | 1, stream: OutputStream, onOutput: (stream: OutputStream, data: string) => void, final: boolean): void {
    const fd = this.fds[index];
    const decoder = this.decoders[index];
    const buffer = (readBuffer ??= Buffer.allocUnsafe(READ_CHUNK));
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buffer, 0, READ_CHUNK, this.offsets[index]);
      } catch {
        // An unreadable file (a full or failing disk) costs the output, never the job's result.
      }
      if (n === 0) break;
      this.offsets[index] += n;
      const text = decoder.write(buffer.subarray(0, n));
      if (text) onOutput(stream, text);
    }
    if (final) {
      const rest = decoder.end();
      if (rest) onOutput(stream, rest);
    } else if (this.offsets[index] >= this.limitBytes) {
      // What the command writes between the read above and this cut is lost: a few bytes of output so long that the
      // store keeps only its tail anyway (config output-limit).
      try {
        ftruncateSync(fd, 0);
        this.offsets[index] = 0;
      } catch {
        // Left to grow; the next read tries again.
      }
    }
  }

  /** Closes and deletes both files; a process still holding them open writes on into a file nobody can see. */
  close(): void {
    for (const fd of this.fds) closeSync(fd);
    for (const path of this.paths) {
      try {
        unlinkSync(path);
      } catch {
        // Already gone with its directory (removed by hand, or by a tmp cleaner): nothing is left to delete.
      }
    }
  }
}
