import { StoreFullError, StoreUnavailableError } from '../../core/errors';
import type { JobState } from '../../core/job';
import type { FinishParams, Store } from '../../store/store';
import type { WorkerService } from './service';

/**
 * Results this worker could not write while the store was out of reach (a full disk, an outage longer than the
 * lease): written as soon as the store answers again, so a command that ran to its end is recorded by how it really
 * ended. The guarded finish applies it when no one recovered the job meanwhile (it then follows the result: a
 * completed job is not run again); when a reaper got there first, the real end still goes onto the attempt, which the
 * recovery had closed as `worker_lost`.
 */
export class LateReports implements WorkerService {
  readonly name = 'late reports';
  private readonly pending = new Map<string, FinishParams>();

  constructor(
    private readonly params: {
      store: Store;
      periodMs: () => number;
      log: (line: string) => void;
      onJobEnded: (jobId: string, state: JobState, exitCode: number | null) => void;
    },
  ) {}

  periodMs(): number {
    return this.params.periodMs();
  }

  /** Keeps a result to write later. */
  add(finish: FinishParams): void {
    this.pending.set(`${finish.jobId}\n${finish.attempt}`, finish);
  }

  /** True while a result of this job waits here: the job is still this worker's, and no reaper's. */
  holds(jobId: string): boolean {
    for (const finish of this.pending.values()) if (finish.jobId === jobId) return true;
    return false;
  }

  async runOnce(): Promise<void> {
    const { store, log } = this.params;
    for (const [key, finish] of this.pending) {
      const { jobId, attempt, result, next } = finish;
      try {
        if (await store.finishAttempt(finish)) {
          log(`job ${jobId} attempt ${attempt}: result written late; now ${next.state}`);
          this.params.onJobEnded(jobId, next.state, result.exitCode);
        } else if (result.outcome !== 'worker_lost' && (await store.recordLateResult(finish))) {
          log(`job ${jobId} attempt ${attempt}: recovered meanwhile; its attempt now shows how it really ended (${result.error ?? result.outcome})`);
        }
      } catch (err) {
        // Still out of reach: kept for the next round. Anything else would fail again: the lease decides, as always.
        if (err instanceof StoreUnavailableError || err instanceof StoreFullError) throw err;
        log(`job ${jobId} attempt ${attempt}: its result cannot be written: ${(err as Error).message}`);
      }
      this.pending.delete(key);
    }
  }
}
