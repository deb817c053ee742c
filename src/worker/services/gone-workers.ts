import type { Store } from '../../store/store';
import { cleanUpGoneWorkers } from '../reaper';
import type { WorkerService } from './service';

/** Removes registrations of workers that stopped heartbeating or exited on this host (see cleanUpGoneWorkers). */
export class GoneWorkerCleaner implements WorkerService {
  readonly name = 'gone-worker clean-up';

  constructor(private readonly params: { store: Store; host: string; staleAfterMs: () => number; periodMs: () => number }) {}

  periodMs(): number {
    return this.params.periodMs();
  }

  async runOnce(): Promise<void> {
    await cleanUpGoneWorkers({ store: this.params.store, host: this.params.host, staleAfterMs: this.params.staleAfterMs() });
  }
}
