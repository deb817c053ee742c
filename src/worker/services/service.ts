import { systemClock, type Clock } from '../../core/clock';

/**
 * One of a worker's maintenance duties (recovering lost jobs, cleaning up gone workers, finish hooks, retention,
 * config). Each does its work in `runOnce()`, which tests call directly; a ServiceSchedule runs it when it is due.
 */
export interface WorkerService {
  /** For the log: `<name> failed: …`. */
  readonly name: string;
  /** How long after a run the next is due; read after every run, so it follows the config. */
  periodMs(): number;
  runOnce(): Promise<void>;
}

/**
 * Runs services when due, one after another, never two rounds at once. A service that throws is handed to `onError`
 * and is due again after its period, like one that succeeded.
 */
export class ServiceSchedule {
  private readonly nextAt = new Map<WorkerService, number>();
  private running: Promise<void> | null = null;

  constructor(
    private readonly services: readonly WorkerService[],
    private readonly onError: (service: WorkerService, err: unknown) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Runs every service that is due (all of them the first time); joins a round already under way. */
  runDue(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Settles when the round under way (if any) has ended. */
  async settled(): Promise<void> {
    await this.running;
  }

  private async round(): Promise<void> {
    for (const service of this.services) {
      if (this.clock.now() < (this.nextAt.get(service) ?? 0)) continue;
      try {
        await service.runOnce();
      } catch (err) {
        this.onError(service, err);
      }
      this.nextAt.set(service, this.clock.now() + service.periodMs());
    }
  }
}
