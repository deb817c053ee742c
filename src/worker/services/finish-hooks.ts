import type { EndedJob, Store } from '../../store/store';
import type { WorkerService } from './service';

/** At most this many hooks are taken per run. */
const BATCH = 100;

/**
 * Takes the jobs that ended with no worker's report (cancelled while queued, or through a dependency) and hands each
 * to `onJobEnded`, which runs its `on-finish` hook. The store hands each to one worker only.
 */
export class FinishHookTaker implements WorkerService {
  readonly name = 'finish hooks';

  constructor(private readonly params: { store: Store; onJobEnded: (ended: EndedJob) => void; periodMs: () => number }) {}

  periodMs(): number {
    return this.params.periodMs();
  }

  async runOnce(): Promise<void> {
    for (const ended of await this.params.store.takeFinishHooks({ limit: BATCH })) this.params.onJobEnded(ended);
  }
}
