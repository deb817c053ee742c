import type { OutputStream } from '../core/job';
import type { OutputSink } from './output-capture';

export interface OutputBatch {
  chunks: { stream: OutputStream; data: string }[];
  /** Output was lost before this batch (skipped, trimmed here, or a write that failed): flag the attempt. */
  truncated: boolean;
}

interface PendingChunk {
  stream: OutputStream;
  data: string;
  bytes: number;
}

/**
 * Collects a running job's output and writes it to the store with at most one write in flight. What arrives while a
 * write is under way waits, merged into one batch and cut to the newest `limitBytes` (across both streams, in order):
 * the store keeps no more than that of an attempt anyway, so a job writing faster than the store takes it costs
 * neither memory nor a queue of writes. Whatever is dropped on the way, or lost to a failed write, marks the attempt
 * truncated with the next write.
 */
export class OutputBuffer implements OutputSink {
  private chunks: PendingChunk[] = [];
  private bytes = 0;
  private lost = false;
  private pending: NodeJS.Immediate | null = null;
  private writing: Promise<void> | null = null;

  /** `write` resolves false when the batch could not be stored (it is then lost, and flagged later). */
  constructor(
    private readonly limitBytes: number,
    private readonly write: (batch: OutputBatch) => Promise<boolean>,
  ) {}

  output(stream: OutputStream, data: string): void {
    if (data === '') return;
    const bytes = Buffer.byteLength(data);
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.stream === stream) {
      last.data += data;
      last.bytes += bytes;
    } else {
      this.chunks.push({ stream, data, bytes });
    }
    this.bytes += bytes;
    if (this.bytes > this.limitBytes) this.trim();
    this.schedule();
  }

  /** Output was lost before it reached the buffer (see OutputCapture). */
  dropped(): void {
    this.lost = true;
    this.schedule();
  }

  /** Writes what is left and waits for every write. */
  async close(): Promise<void> {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    // The flag alone is tried once: a store that keeps failing must not hold the job's report.
    let flagTried = false;
    for (;;) {
      if (this.writing) await this.writing;
      else if (this.chunks.length > 0 || (this.lost && !flagTried)) {
        flagTried ||= this.chunks.length === 0;
        this.flush();
      } else return;
    }
  }

  /** One read of the capture files hands over both streams: they go in one write, on the next turn. */
  private schedule(): void {
    if (this.writing === null) this.pending ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.pending = null;
    if (this.writing !== null || (this.chunks.length === 0 && !this.lost)) return;
    const batch: OutputBatch = { chunks: this.chunks.map(({ stream, data }) => ({ stream, data })), truncated: this.lost };
    this.chunks = [];
    this.bytes = 0;
    this.lost = false;
    this.writing = this.write(batch).then(
      (stored) => this.written(stored),
      () => this.written(false),
    );
  }

  private written(stored: boolean): void {
    if (!stored) this.lost = true;
    this.writing = null;
    if (this.chunks.length > 0) this.flush();
  }

  /** Drops the oldest output until at most `limitBytes` wait, never keeping half a character. */
  private trim(): void {
    this.lost = true;
    while (this.bytes > this.limitBytes) {
      const first = this.chunks[0]!;
      const excess = this.bytes - this.limitBytes;
      if (first.bytes <= excess) {
        this.chunks.shift();
        this.bytes -= first.bytes;
        continue;
      }
      const data = Buffer.from(first.data);
      let start = excess;
      while (start < data.length && (data[start]! & 0xc0) === 0x80) start++;
      first.data = data.subarray(start).toString();
      first.bytes -= start;
      this.bytes -= start;
    }
  }
}
