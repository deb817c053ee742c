import type { JobState } from '../core/job';
import type { CatchUpPolicy, JobTemplate, NewSchedule, Schedule } from '../core/schedule';

/*
 * A `schedules` row (joined with the state of its last job) and its mapping, shared by both adapters: SQLite gives
 * 0/1 and JSON text where PostgreSQL gives booleans and jsonb.
 */

export interface ScheduleRow {
  name: string;
  cron: string | null;
  every_ms: number | null;
  time_zone: string;
  no_overlap: number | boolean;
  catch_up: string;
  job: string | JobTemplate;
  paused: number | boolean;
  next_run_at: number;
  last_tick_at: number | null;
  last_job_id: string | null;
  last_job_state: string | null;
  created_at: number;
  updated_at: number;
}

export function toSchedule(row: ScheduleRow): Schedule {
  return {
    name: row.name,
    cadence: row.cron !== null ? { kind: 'cron', expression: row.cron } : { kind: 'every', everyMs: row.every_ms! },
    timeZone: row.time_zone,
    noOverlap: Boolean(row.no_overlap),
    catchUp: row.catch_up as CatchUpPolicy,
    job: typeof row.job === 'string' ? (JSON.parse(row.job) as JobTemplate) : row.job,
    paused: Boolean(row.paused),
    nextRunAt: row.next_run_at,
    lastTickAt: row.last_tick_at,
    lastJobId: row.last_job_id,
    lastJobState: row.last_job_state as JobState | null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The cadence as the two columns that hold it. */
export function cadenceColumns(schedule: NewSchedule): { cron: string | null; everyMs: number | null } {
  return schedule.cadence.kind === 'cron' ? { cron: schedule.cadence.expression, everyMs: null } : { cron: null, everyMs: schedule.cadence.everyMs };
}
