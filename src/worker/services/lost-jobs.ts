import type { Config } from '../../core/config';
import type { JobState } from '../../core/job';
import type { Store } from '../../store/store';
import { reapLostJobs } from '../reaper';
import type { WorkerService } from './service';

/** Recovers jobs whose worker is gone (see reapLostJobs), every tick. */
export class LostJobReaper implements WorkerService {
  readonly name = 'reap';

  constructor(
    private readonly params: {
      store: Store;
      host: string;
      selfId: string;
      /** True for a job in hand now, whose lease is this worker's to renew. */
      inHand: (jobId: string) => boolean;
      /** True for a job whose result this worker still has to write (see LateReports): not lost. */
      reporting?: (jobId: string) => boolean;
      config: () => Config;
      periodMs: () => number;
      log: (line: string) => void;
      onJobEnded: (jobId: string, state: JobState) => void;
      /** Told when jobs went back to the queue, so an idle worker looks for them at once. */
      onRecovered: () => void;
    },
  ) {}

  periodMs(): number {
    return this.params.periodMs();
  }

  async runOnce(): Promise<void> {
    const { store, host, selfId, log, onJobEnded } = this.params;
    const recovered = await reapLostJobs({ store, host, selfId, inHand: this.params.inHand, reporting: this.params.reporting, config: this.params.config(), log, onJobEnded });
    if (recovered.length > 0) this.params.onRecovered();
  }
}
