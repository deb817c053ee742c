import { resolveConfig, type Config } from '../../core/config';
import type { Store } from '../../store/store';
import type { WorkerService } from './service';

/** Reads the stored config now and then and hands the resolved result to `onConfig`. */
export class ConfigRefresh implements WorkerService {
  readonly name = 'config';

  constructor(private readonly params: { store: Store; onConfig: (config: Config) => void; periodMs: () => number }) {}

  periodMs(): number {
    return this.params.periodMs();
  }

  async runOnce(): Promise<void> {
    this.params.onConfig(resolveConfig(await this.params.store.getConfig()));
  }
}
