import type { JobTemplate, Schedule } from './schedule';
import { formatEvery } from './schedule-cadence';
import { NEVER } from './schedule';

/** A schedule as `schedule list --json` and `schedule show --json` print it: snake_case, times in ISO 8601 UTC. */
export interface ScheduleJson {
  name: string;
  cron: string | null;
  every: string | null;
  tz: string;
  no_overlap: boolean;
  catch_up: string;
  paused: boolean;
  /** Null when the cadence never fires again. */
  next_run_at: string | null;
  last_tick_at: string | null;
  last_job_id: string | null;
  last_job_state: string | null;
  /** The job fields each tick's job gets, as `enqueue` takes them. */
  job: JobTemplate;
  created_at: string;
  updated_at: string;
}

const iso = (ms: number | null): string | null => (ms === null || ms >= NEVER ? null : new Date(ms).toISOString());

export function scheduleToJson(schedule: Schedule): ScheduleJson {
  return {
    name: schedule.name,
    cron: schedule.cadence.kind === 'cron' ? schedule.cadence.expression : null,
    every: schedule.cadence.kind === 'every' ? formatEvery(schedule.cadence.everyMs) : null,
    tz: schedule.timeZone,
    no_overlap: schedule.noOverlap,
    catch_up: schedule.catchUp,
    paused: schedule.paused,
    next_run_at: iso(schedule.nextRunAt),
    last_tick_at: iso(schedule.lastTickAt),
    last_job_id: schedule.lastJobId,
    last_job_state: schedule.lastJobState,
    job: schedule.job,
    created_at: iso(schedule.createdAt)!,
    updated_at: iso(schedule.updatedAt)!,
  };
}
