import type Database from 'better-sqlite3';
import { resolveConfig } from '../../core/config';
import { ConflictError, NotFoundError } from '../../core/errors';
import type { Job, JobState } from '../../core/job';
import type { NewJob } from '../../core/job-spec';
import type { Schedule } from '../../core/schedule';
import { overlapsPreviousJob } from '../../core/schedule-overlap';
import { newJobRecord, toConfig, toJob, type ConfigRow, type JobRow } from '../rows';
import { cadenceColumns, toSchedule, type ScheduleRow } from '../schedule-rows';
import type {
  AddScheduleParams, DueSchedulesParams, DueSchedulesResult, FireScheduleParams, FireScheduleResult, GetScheduleParams, RemoveScheduleParams,
  RunScheduleParams, SetSchedulePausedParams,
} from '../store';
import { GET_CONFIG, GET_JOB, GET_JOB_STATE, INSERT_JOB } from './queries';

/*
 * The SQLite store's schedules (recurring jobs): their SQL and the methods SqliteStore delegates to. A fire is one
 * BEGIN IMMEDIATE transaction, so firers on this host are serialised; the compare-and-set on next_run_at makes the
 * first one fire and every later one see `stale`.
 */

const SCHEDULE_COLUMNS = `s.*, (SELECT state FROM jobs WHERE id = s.last_job_id) AS last_job_state`;

export const GET_SCHEDULE = `SELECT ${SCHEDULE_COLUMNS} FROM schedules s WHERE name = ?`;
export const LIST_SCHEDULES = `SELECT ${SCHEDULE_COLUMNS} FROM schedules s ORDER BY name`;
export const DUE_SCHEDULES = `
  SELECT ${SCHEDULE_COLUMNS} FROM schedules s WHERE paused = 0 AND next_run_at <= @now ORDER BY next_run_at LIMIT @limit`;
export const NEXT_SCHEDULE_AT = `SELECT min(next_run_at) AS at FROM schedules WHERE paused = 0`;

export const INSERT_SCHEDULE = `
  INSERT INTO schedules (name, cron, every_ms, time_zone, no_overlap, catch_up, job, next_run_at, created_at, updated_at)
  VALUES (@name, @cron, @everyMs, @timeZone, @noOverlap, @catchUp, @job, @nextRunAt, @now, @now)
  ON CONFLICT (name) DO NOTHING`;
/** `--replace`: a new definition; its history (last job) and whether it is paused stay. */
export const REPLACE_SCHEDULE = `
  UPDATE schedules SET cron = @cron, every_ms = @everyMs, time_zone = @timeZone, no_overlap = @noOverlap,
    catch_up = @catchUp, job = @job, next_run_at = @nextRunAt, updated_at = @now
  WHERE name = @name`;
export const DELETE_SCHEDULE = `DELETE FROM schedules WHERE name = ?`;
export const PAUSE_SCHEDULE = `UPDATE schedules SET paused = 1, updated_at = @now WHERE name = @name`;
export const RESUME_SCHEDULE = `
  UPDATE schedules SET paused = 0, next_run_at = CASE WHEN paused = 1 THEN @nextRunAt ELSE next_run_at END, updated_at = @now
  WHERE name = @name`;

/** The compare-and-set of a fire: only the firer that saw this next run, while it is due, moves it on. */
export const ADVANCE_SCHEDULE = `
  UPDATE schedules SET next_run_at = @nextRunAt, updated_at = @now
  WHERE name = @name AND paused = 0 AND next_run_at = @expectedRunAt AND next_run_at <= @now
  RETURNING no_overlap, last_job_id`;
export const RECORD_SCHEDULE_JOB = `
  UPDATE schedules SET last_job_id = @jobId, last_tick_at = coalesce(@tickAt, last_tick_at) WHERE name = @name`;

/** What the schedule functions need of SqliteStore: its transactions, statement cache, clock and wake-up. */
export interface SqliteScheduleAccess {
  read<T>(fn: () => T): Promise<T>;
  write<T>(fn: () => T): Promise<T>;
  stmt(sql: string): Database.Statement;
  now(): number;
  notify(): Promise<void>;
}

export class SqliteSchedules {
  constructor(private readonly db: SqliteScheduleAccess) {}

  async add(params: AddScheduleParams): Promise<Schedule> {
    const { schedule } = params;
    const schedulesRow = await this.db.write(() => {
      const now = this.db.now();
      const { cron, everyMs } = cadenceColumns(schedule);
      const values = {
        name: schedule.name, cron, everyMs, timeZone: schedule.timeZone, noOverlap: schedule.noOverlap ? 1 : 0, catchUp: schedule.catchUp,
        job: JSON.stringify(schedule.job), nextRunAt: params.nextRunAt, now,
      };
      if (this.db.stmt(INSERT_SCHEDULE).run(values).changes === 0) {
        if (!params.replace) throw new ConflictError(`schedule '${schedule.name}' exists; pass --replace to overwrite it, or pick another name`);
        this.db.stmt(REPLACE_SCHEDULE).run(values);
      }
      return this.db.stmt(GET_SCHEDULE).get(schedule.name) as ScheduleRow;
    });
    await this.db.notify();
    return toSchedule(schedulesRow);
  }

  async get(params: GetScheduleParams): Promise<Schedule | null> {
    const row = await this.db.read(() => this.db.stmt(GET_SCHEDULE).get(params.name) as ScheduleRow | undefined);
    return row ? toSchedule(row) : null;
  }

  async list(): Promise<Schedule[]> {
    return (await this.db.read(() => this.db.stmt(LIST_SCHEDULES).all() as ScheduleRow[])).map(toSchedule);
  }

  async remove(params: RemoveScheduleParams): Promise<boolean> {
    return this.db.write(() => this.db.stmt(DELETE_SCHEDULE).run(params.name).changes > 0);
  }

  async setPaused(params: SetSchedulePausedParams): Promise<Schedule | null> {
    const row = await this.db.write(() => {
      const values = { name: params.name, nextRunAt: params.nextRunAt, now: this.db.now() };
      if (this.db.stmt(params.paused ? PAUSE_SCHEDULE : RESUME_SCHEDULE).run(values).changes === 0) return undefined;
      return this.db.stmt(GET_SCHEDULE).get(params.name) as ScheduleRow;
    });
    if (row && !params.paused) await this.db.notify();
    return row ? toSchedule(row) : null;
  }

  async due(params: DueSchedulesParams): Promise<DueSchedulesResult> {
    const now = this.db.now();
    const rows = await this.db.read(() => this.db.stmt(DUE_SCHEDULES).all({ now, limit: params.limit }) as ScheduleRow[]);
    return { now, schedules: rows.map(toSchedule) };
  }

  async fire(params: FireScheduleParams): Promise<FireScheduleResult> {
    const result = await this.db.write((): FireScheduleResult => {
      const now = this.db.now();
      const advanced = this.db.stmt(ADVANCE_SCHEDULE).get({ name: params.name, expectedRunAt: params.expectedRunAt, nextRunAt: params.nextRunAt, now }) as
        | { no_overlap: number; last_job_id: string | null }
        | undefined;
      if (!advanced) return { outcome: 'stale', jobId: null };
      if (params.job === null || params.tickAt === null) return { outcome: 'missed', jobId: null };
      const lastState = advanced.last_job_id === null ? null : this.stateOf(advanced.last_job_id);
      if (overlapsPreviousJob(advanced.no_overlap === 1, lastState)) return { outcome: 'overlap', jobId: null };
      const created = this.insertJob(params.job, now);
      this.db.stmt(RECORD_SCHEDULE_JOB).run({ name: params.name, jobId: params.job.id, tickAt: params.tickAt });
      return { outcome: created ? 'fired' : 'exists', jobId: params.job.id };
    });
    if (result.outcome === 'fired') await this.db.notify();
    return result;
  }

  async run(params: RunScheduleParams): Promise<Job> {
    const job = await this.db.write(() => {
      if (this.db.stmt(RECORD_SCHEDULE_JOB).run({ name: params.name, jobId: params.job.id, tickAt: null }).changes === 0) {
        throw new NotFoundError(`no schedule named '${params.name}'; see 'queuectl schedule list'`);
      }
      if (!this.insertJob(params.job, this.db.now())) throw new ConflictError(`job '${params.job.id}' exists; run the schedule again`);
      return toJob(this.db.stmt(GET_JOB).get(params.job.id) as JobRow);
    });
    await this.db.notify();
    return job;
  }

  async nextAt(): Promise<number | null> {
    return this.db.read(() => (this.db.stmt(NEXT_SCHEDULE_AT).get() as { at: number | null }).at);
  }

  private stateOf(jobId: string): JobState | null {
    return (this.db.stmt(GET_JOB_STATE).get(jobId) as { state: JobState } | undefined)?.state ?? null;
  }

  /** Inserts a scheduled job (no dependencies: it starts pending) unless its id exists; true when inserted. */
  private insertJob(job: NewJob, now: number): boolean {
    const config = job.maxRetries === null ? toConfig(this.db.stmt(GET_CONFIG).all() as ConfigRow[]) : {};
    const r = newJobRecord(job, { state: 'pending', reason: null, now, defaultMaxRetries: resolveConfig(config)['max-retries'] });
    const env = r.env === null ? null : JSON.stringify(r.env);
    return this.db.stmt(INSERT_JOB).run(r.id, r.command, r.queue, r.state, r.maxRetries, r.priority, r.runAt, r.timeout, r.cwd, env, null, now, now, null, null).changes > 0;
  }
}
