import { systemClock, type Clock } from '../../core/clock';
import { TERMINAL_STATES } from '../../core/job';
import type { Store } from '../../store/store';
import type { WorkerService } from './service';

/** At most this many jobs are deleted per sweep, so a sweep never holds the store's write lock for long. */
export const RETENTION_BATCH = 500;
/** Sweeps come at least this far apart, however short the retention. */
const MIN_INTERVAL_MS = 1000;
/** ...and at most this far apart, however long it is. */
const MAX_INTERVAL_MS = 60_000;

/** How long after a sweep the next one is due: a tenth of the retention, within the bounds above. */
export function retentionIntervalMs(retentionMs: number): number {
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(retentionMs / 10)));
}

/**
 * Applies the `retention` config: deletes completed, dead and cancelled jobs that finished longer than `retention`
 * ago, a batch at a time. Every worker sweeps; the store's purge is one transaction, so concurrent sweeps only share
 * the work. Runs every tick, but sweeps only when one is due; a full batch means more are due, so the next sweep
 * comes on the next tick.
 */
export class RetentionSweeper implements WorkerService {
  readonly name = 'retention';
  private nextAt = 0;

  constructor(
    private readonly params: {
      store: Store;
      /** The `retention` config in ms, or null for none. */
      retentionMs: () => number | null;
      periodMs: () => number;
      log: (line: string) => void;
      clock?: Clock;
    },
  ) {}

  periodMs(): number {
    return this.params.periodMs();
  }

  async runOnce(): Promise<void> {
    const retentionMs = this.params.retentionMs();
    const now = (this.params.clock ?? systemClock).now();
    if (retentionMs === null || now < this.nextAt) return;
    this.nextAt = now + retentionIntervalMs(retentionMs);
    const purged = await this.params.store.purge({ states: [...TERMINAL_STATES], olderThanMs: retentionMs, dryRun: false, limit: RETENTION_BATCH });
    if (purged >= RETENTION_BATCH) this.nextAt = now;
    if (purged > 0) this.params.log(`retention: deleted ${purged} finished job(s) older than ${retentionMs / 1000}s`);
  }
}
