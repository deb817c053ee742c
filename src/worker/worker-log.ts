import { writeSync } from 'node:fs';

/**
 * A background worker's log: lines written straight to a file descriptor (its stderr, which `worker start` points at
 * the log file). A write that fails (a full disk) must not take the worker down with it, so failures are counted,
 * not thrown, and the first line that can be written again says how many were lost.
 */
export class WorkerLog {
  private lost = 0;
  private lastError = '';
  /** A failed write may have left part of a line: the next successful one starts on a new line. */
  private midLine = false;

  constructor(private readonly fd = 2) {}

  /** Writes `line` with a timestamp; never throws. */
  write(line: string): void {
    const stamp = new Date().toISOString();
    try {
      if (this.lost > 0 || this.midLine) {
        const lost = this.lost > 0 ? `${stamp} ${this.lost} log line(s) lost: could not write the log (${this.lastError})\n` : '';
        this.writeAll(`${this.midLine ? '\n' : ''}${lost}`);
        this.lost = 0;
        this.midLine = false;
      }
      this.writeAll(`${stamp} ${line}\n`);
    } catch (err) {
      this.lost++;
      this.lastError = (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'disk full' : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  }

  /** How many lines were lost since the last one written. */
  get lostLines(): number {
    return this.lost;
  }

  private writeAll(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    for (let offset = 0; offset < bytes.length; ) {
      try {
        offset += writeSync(this.fd, bytes, offset);
      } catch (err) {
        if (offset > 0) this.midLine = true;
        throw err;
      }
    }
  }

  /**
   * Keeps anything else that writes to stdout or stderr (a library, a stray warning) from crashing the process when
   * the write fails: Node turns a failed write to a file into an 'error' event nobody listens to.
   */
  static guardStandardStreams(): void {
    process.stdout.on('error', () => undefined);
    process.stderr.on('error', () => undefined);
  }
}
