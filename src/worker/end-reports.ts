import type { FinishParams } from '../store/store';
import type { Claim } from './job-run';

/** How one job's end was written: whether it applied, and the jobs claimed along that its slot is to start. */
export interface EndWritten {
  finished: boolean;
  next: Claim[];
}

/** Writes ends in one transaction, claiming along; throws on a store error. */
export type WriteEnds = (finishes: FinishParams[]) => Promise<{ finished: boolean[]; next: Claim[] }>;

interface QueuedEnd {
  finish: FinishParams;
  resolve: (written: EndWritten) => void;
  reject: (err: unknown) => void;
}

/**
 * A worker's job ends, written one batch at a time: the ends that come while a write is in flight go together in the
 * next write (one transaction and one round trip for all), so slots ending together cost one write, not one each. A
 * lone end is written at once: batching adds no wait. (A worker's writes go one at a time anyway: on PostgreSQL its
 * statements share one connection.)
 */
export class EndReports {
  private queued: QueuedEnd[] = [];
  private writing = false;

  constructor(private readonly writeEnds: WriteEnds) {}

  /** Settles once the end is written (rejecting with the store's error: the caller retries or keeps it for later). */
  write(finish: FinishParams): Promise<EndWritten> {
    return new Promise((resolve, reject) => {
      this.queued.push({ finish, resolve, reject });
      if (!this.writing) void this.writeQueued();
    });
  }

  private async writeQueued(): Promise<void> {
    this.writing = true;
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0);
      try {
        const { finished, next } = await this.writeEnds(batch.map((end) => end.finish));
        // What the write claimed goes to the first end's slot, which starts it all; the other slots just free.
        batch.forEach((end, i) => end.resolve({ finished: finished[i] === true, next: i === 0 ? next : [] }));
      } catch (err) {
        for (const end of batch) end.reject(err);
      }
    }
    this.writing = false;
  }
}
