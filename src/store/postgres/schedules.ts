import { ConflictError, NotFoundError } from '../../core/errors';
import type { Job, JobState } from '../../core/job';
import type { Schedule } from '../../core/schedule';
import { overlapsPreviousJob } from '../../core/schedule-overlap';
import { cadenceColumns, toSchedule, type ScheduleRow } from '../schedule-rows';
import type {
  AddScheduleParams, DueSchedulesParams, DueSchedulesResult, FireScheduleParams, FireScheduleResult, GetScheduleParams, RemoveScheduleParams,
  RunScheduleParams, SetSchedulePausedParams,
} from '../store';
import type { Database, Executor } from './connection';
import { enqueueJobs } from './enqueue';
import { withSchema, type Queries } from './queries';

/*
 * The PostgreSQL store's schedules (recurring jobs): their SQL and the methods PostgresStore delegates to. Due-ness
 * is judged by the database's clock. A fire's compare-and-set UPDATE takes the schedule's row lock: a concurrent firer
 * waits for it, then (READ COMMITTED) re-reads the row, finds next_run_at moved on and updates nothing.
 */

const NOW_MS = `floor(extract(epoch FROM now()) * 1000)::bigint`;
const SCHEDULE_COLUMNS = `s.*, (SELECT state FROM @schema.jobs WHERE id = s.last_job_id) AS last_job_state`;

const STATEMENTS = {
  GET_SCHEDULE: `SELECT ${SCHEDULE_COLUMNS} FROM @schema.schedules s WHERE name = $1`,
  LIST_SCHEDULES: `SELECT ${SCHEDULE_COLUMNS} FROM @schema.schedules s ORDER BY name`,
  /** $1: limit. */
  DUE_SCHEDULES: `
    SELECT ${SCHEDULE_COLUMNS}, ${NOW_MS} AS now FROM @schema.schedules s
    WHERE NOT paused AND next_run_at <= ${NOW_MS} ORDER BY next_run_at LIMIT $1`,
  NEXT_SCHEDULE_AT: `SELECT min(next_run_at) AS at FROM @schema.schedules WHERE NOT paused`,
  /** $1 name, $2 cron, $3 every_ms, $4 zone, $5 no_overlap, $6 catch_up, $7 job, $8 next_run_at; nothing if it exists. */
  INSERT_SCHEDULE: `
    INSERT INTO @schema.schedules (name, cron, every_ms, time_zone, no_overlap, catch_up, job, next_run_at, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ${NOW_MS}, ${NOW_MS})
    ON CONFLICT (name) DO NOTHING`,
  /** `--replace`, same parameters: a new definition; its history (last job) and whether it is paused stay. */
  REPLACE_SCHEDULE: `
    UPDATE @schema.schedules SET cron = $2, every_ms = $3, time_zone = $4, no_overlap = $5, catch_up = $6, job = $7,
      next_run_at = $8, updated_at = ${NOW_MS}
    WHERE name = $1`,
  DELETE_SCHEDULE: `DELETE FROM @schema.schedules WHERE name = $1`,
  PAUSE_SCHEDULE: `UPDATE @schema.schedules SET paused = true, updated_at = ${NOW_MS} WHERE name = $1`,
  /** $1 name, $2 the next run once resumed. */
  RESUME_SCHEDULE: `
    UPDATE @schema.schedules SET paused = false, next_run_at = CASE WHEN paused THEN $2 ELSE next_run_at END, updated_at = ${NOW_MS}
    WHERE name = $1`,
  /** The compare-and-set of a fire. $1 name, $2 the next run the firer saw, $3 the next run after this fire. */
  ADVANCE_SCHEDULE: `
    UPDATE @schema.schedules SET next_run_at = $3, updated_at = ${NOW_MS}
    WHERE name = $1 AND NOT paused AND next_run_at = $2 AND next_run_at <= ${NOW_MS}
    RETURNING no_overlap, last_job_id`,
  /** $1 name, $2 job id, $3 the tick (null: `schedule run`). */
  RECORD_SCHEDULE_JOB: `UPDATE @schema.schedules SET last_job_id = $2, last_tick_at = coalesce($3, last_tick_at) WHERE name = $1`,
  JOB_STATE: `SELECT state FROM @schema.jobs WHERE id = $1`,
};

type ScheduleQueries = { readonly [K in keyof typeof STATEMENTS]: string };

/** What the schedule functions need of PostgresStore: its pool, its compiled statements, its schema and channel. */
export interface PostgresScheduleAccess {
  db: Database;
  Q: Queries;
  schema: string;
  channel: string;
}

export class PostgresSchedules {
  private readonly S: ScheduleQueries;

  constructor(private readonly access: PostgresScheduleAccess) {
    const compiled: Record<string, string> = {};
    for (const [name, sql] of Object.entries(STATEMENTS)) compiled[name] = withSchema(sql, access.schema);
    this.S = compiled as ScheduleQueries;
  }

  private get db(): Database {
    return this.access.db;
  }

  async add(params: AddScheduleParams): Promise<Schedule> {
    const { schedule } = params;
    const { cron, everyMs } = cadenceColumns(schedule);
    const values = [schedule.name, cron, everyMs, schedule.timeZone, schedule.noOverlap, schedule.catchUp, JSON.stringify(schedule.job), params.nextRunAt];
    return this.db.transaction(async (tx) => {
      if ((await tx.execute(this.S.INSERT_SCHEDULE, values)) === 0) {
        if (!params.replace) throw new ConflictError(`schedule '${schedule.name}' exists; pass --replace to overwrite it, or pick another name`);
        await tx.execute(this.S.REPLACE_SCHEDULE, values);
      }
      await this.notify(tx);
      return toSchedule((await tx.query<ScheduleRow>(this.S.GET_SCHEDULE, [schedule.name]))[0]!);
    });
  }

  async get(params: GetScheduleParams): Promise<Schedule | null> {
    const row = (await this.db.query<ScheduleRow>(this.S.GET_SCHEDULE, [params.name]))[0];
    return row ? toSchedule(row) : null;
  }

  async list(): Promise<Schedule[]> {
    return (await this.db.query<ScheduleRow>(this.S.LIST_SCHEDULES)).map(toSchedule);
  }

  async remove(params: RemoveScheduleParams): Promise<boolean> {
    return (await this.db.execute(this.S.DELETE_SCHEDULE, [params.name])) > 0;
  }

  async setPaused(params: SetSchedulePausedParams): Promise<Schedule | null> {
    return this.db.transaction(async (tx) => {
      const changed = params.paused
        ? await tx.execute(this.S.PAUSE_SCHEDULE, [params.name])
        : await tx.execute(this.S.RESUME_SCHEDULE, [params.name, params.nextRunAt]);
      if (changed === 0) return null;
      if (!params.paused) await this.notify(tx);
      return toSchedule((await tx.query<ScheduleRow>(this.S.GET_SCHEDULE, [params.name]))[0]!);
    });
  }

  async due(params: DueSchedulesParams): Promise<DueSchedulesResult> {
    const rows = await this.db.query<ScheduleRow & { now: number }>(this.S.DUE_SCHEDULES, [params.limit]);
    const now = rows[0]?.now ?? (await this.db.query<{ now: number }>(this.access.Q.NOW))[0]!.now;
    return { now, schedules: rows.map(toSchedule) };
  }

  async fire(params: FireScheduleParams): Promise<FireScheduleResult> {
    return this.db.transaction(async (tx): Promise<FireScheduleResult> => {
      const [advanced] = await tx.query<{ no_overlap: boolean; last_job_id: string | null }>(this.S.ADVANCE_SCHEDULE, [
        params.name, params.expectedRunAt, params.nextRunAt,
      ]);
      if (!advanced) return { outcome: 'stale', jobId: null };
      if (params.job === null || params.tickAt === null) return { outcome: 'missed', jobId: null };
      const lastState = advanced.last_job_id === null ? null : await this.stateOf(tx, advanced.last_job_id);
      if (overlapsPreviousJob(advanced.no_overlap, lastState)) return { outcome: 'overlap', jobId: null };
      const [inserted] = await enqueueJobs(tx, this.access.Q, { jobs: [params.job], ifNotExists: true });
      await tx.query(this.S.RECORD_SCHEDULE_JOB, [params.name, params.job.id, params.tickAt]);
      if (inserted?.created) await this.notify(tx);
      return { outcome: inserted?.created ? 'fired' : 'exists', jobId: params.job.id };
    });
  }

  async run(params: RunScheduleParams): Promise<Job> {
    return this.db.transaction(async (tx) => {
      if ((await tx.execute(this.S.RECORD_SCHEDULE_JOB, [params.name, params.job.id, null])) === 0) {
        throw new NotFoundError(`no schedule named '${params.name}'; see 'queuectl schedule list'`);
      }
      const [result] = await enqueueJobs(tx, this.access.Q, { jobs: [params.job], ifNotExists: true });
      if (!result?.created) throw new ConflictError(`job '${params.job.id}' exists; run the schedule again`);
      await this.notify(tx);
      return result.job;
    });
  }

  async nextAt(): Promise<number | null> {
    return (await this.db.query<{ at: number | null }>(this.S.NEXT_SCHEDULE_AT))[0]!.at;
  }

  private async stateOf(tx: Executor, jobId: string): Promise<JobState | null> {
    return (await tx.query<{ state: JobState }>(this.S.JOB_STATE, [jobId]))[0]?.state ?? null;
  }

  /** Inside a transaction the notification goes out only if it commits. */
  private async notify(tx: Executor): Promise<void> {
    await tx.query(this.access.Q.NOTIFY, [this.access.channel]);
  }
}
