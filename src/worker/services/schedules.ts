import type { NewJob } from '../../core/job-spec';
import { jobForTick, planTick, scheduleJobId } from '../../core/schedule';
import type { FireScheduleResult, Store } from '../../store/store';

/** Schedules fired per pass: more due at once than this are left to the next pass (a second later at most). */
const DUE_BATCH = 100;

export interface ScheduleServiceOptions {
  store: Store;
  log: (line: string) => void;
}

/** One schedule's fire in a pass, for tests and logs. */
export interface FiredTick {
  name: string;
  tickAt: number | null;
  result: FireScheduleResult;
}

/**
 * Turns due schedule ticks into jobs. Every worker runs it (from its tick, and before it waits idle), so schedules fire
 * while any worker lives; the store's compare-and-set on each schedule's next run and the tick's deterministic job id
 * make one job per tick however many workers, on however many hosts, race for it.
 */
export class ScheduleService {
  private readonly store: Store;
  private readonly log: (line: string) => void;
  /** One pass at a time per worker: the tick and the idle loop may both ask. */
  private running: Promise<FiredTick[]> | null = null;

  constructor(options: ScheduleServiceOptions) {
    this.store = options.store;
    this.log = options.log;
  }

  /** Fires every schedule due by the store's clock; returns what each fire did. */
  runOnce(): Promise<FiredTick[]> {
    this.running ??= this.fireDue().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** When the next schedule is due (store's clock), so an idle worker wakes for it; null when none is active. */
  nextDueAt(): Promise<number | null> {
    return this.store.nextScheduleAt();
  }

  private async fireDue(): Promise<FiredTick[]> {
    const { now, schedules } = await this.store.dueSchedules({ limit: DUE_BATCH });
    const fired: FiredTick[] = [];
    for (const schedule of schedules) {
      const plan = planTick(schedule, now);
      let job: NewJob | null = null;
      try {
        job = plan.tickAt === null ? null : jobForTick(schedule, plan.tickAt);
      } catch (err) {
        // A template this queuectl rejects (say, stored by a newer one): the tick is skipped, not retried forever.
        this.log(`schedule ${schedule.name}: tick skipped, its job is not valid: ${(err as Error).message}`);
      }
      const tickAt = job === null ? null : plan.tickAt;
      const result = await this.store.fireSchedule({ name: schedule.name, expectedRunAt: schedule.nextRunAt, tickAt, job, nextRunAt: plan.nextRunAt });
      fired.push({ name: schedule.name, tickAt, result });
      if (result.outcome === 'stale') continue;
      if (plan.missed) this.log(`schedule ${schedule.name}: ticks missed while no worker ran were skipped (catch-up ${schedule.catchUp})`);
      if (result.outcome === 'overlap') {
        this.log(`schedule ${schedule.name}: tick ${scheduleJobId(schedule.name, tickAt!)} skipped: its previous job ${schedule.lastJobId} has not finished`);
      }
    }
    return fired;
  }
}
