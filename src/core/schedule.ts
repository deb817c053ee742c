import { parseDuration } from './duration';
import { UsageError } from './errors';
import type { JobState } from './job';
import { parseJobSpec, type NewJob } from './job-spec';
import {
  hostTimeZone, latestTickAtOrBefore, MIN_EVERY_MS, nextTick, validateCron, validateTimeZone, type ScheduleCadence,
} from './schedule-cadence';

/**
 * Recurring jobs: a schedule names a cadence and a job template; workers turn each due tick into one job whose id is
 * derived from the schedule and the tick (`NAME@2030-01-01T09:00:00Z`), so however many workers race for a tick, the
 * store inserts one job. Everything here is pure: time comes in as `now` (the store's clock).
 */

/** What happens to ticks that passed while no worker ran: `last` runs the latest once, `none` runs none of them. */
export type CatchUpPolicy = 'none' | 'last';
export const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['none', 'last'];

/**
 * Under `catch-up none`, a tick this late still counts as on time rather than missed: a worker busy for a moment, or
 * a store briefly out of reach, must not drop a tick. sidekiq-cron's reschedule grace period is the same minute.
 */
export const ON_TIME_GRACE_MS = 60_000;

/**
 * The job fields of a schedule, as `enqueue` takes them (snake_case JSON, validated by job-spec.ts): whatever field
 * enqueue gains, a schedule carries. Per-tick fields (id, run_at, delay, depends_on, if_not_exists) are not allowed.
 */
export type JobTemplate = Record<string, unknown>;

/** Fields a template must not set: each fired job gets its own id and runs at its tick. */
const PER_JOB_FIELDS = ['id', 'run_at', 'delay', 'depends_on', 'if_not_exists'];

/** A validated schedule, as `schedule add` hands it to the store. */
export interface NewSchedule {
  name: string;
  cadence: ScheduleCadence;
  /** IANA zone the cron expression is read in; stored, so every host computes the same ticks. */
  timeZone: string;
  /** Skip a tick while the previous job of this schedule has not finished. */
  noOverlap: boolean;
  catchUp: CatchUpPolicy;
  job: JobTemplate;
}

/** A stored schedule. */
export interface Schedule extends NewSchedule {
  paused: boolean;
  /** The next tick to fire (epoch ms); while paused, the one it would have fired. */
  nextRunAt: number;
  /** The tick of the last job fired (null: none yet, or only `schedule run`). */
  lastTickAt: number | null;
  /** The last job this schedule enqueued (by a tick or `schedule run`), and its state (null once purged). */
  lastJobId: string | null;
  lastJobState: JobState | null;
  createdAt: number;
  updatedAt: number;
}

/** A schedule name: a job id's alphabet without `@`, which separates it from the tick in the jobs it makes. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$/;

export function validateScheduleName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new UsageError(`${field}: ${JSON.stringify(name)} is not a valid schedule name (1-100 letters, digits or . _ : / + -, starting with a letter or digit)`);
  }
  return name;
}

/** What `schedule add` accepts as JSON (and its flags map onto): schedule fields plus the job's fields. */
export interface ScheduleSpecInput {
  name?: unknown;
  cron?: unknown;
  /** A duration (`10m`, `90s`) or a number of seconds. */
  every?: unknown;
  tz?: unknown;
  no_overlap?: unknown;
  catch_up?: unknown;
  [jobField: string]: unknown;
}

const SCHEDULE_FIELDS = new Set(['name', 'cron', 'every', 'tz', 'no_overlap', 'catch_up']);

/**
 * Validates a schedule (from JSON or flags): its name, exactly one of cron/every, the zone, the policies, and the job
 * fields through enqueue's own parser. `now` is only used to check that a cron expression fires at all; `defaultCwd`
 * is recorded when the job names no cwd, so its jobs run where the schedule was added.
 */
export function parseScheduleSpec(input: unknown, options: { now: number; defaultCwd: string | null; defaultTimeZone?: string }): NewSchedule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UsageError(`a schedule must be a JSON object such as {"name":"backup","cron":"0 3 * * *","command":"./backup.sh"}`);
  }
  const spec = input as ScheduleSpecInput;
  const name = validateScheduleName(spec.name);
  const timeZone = spec.tz === undefined ? (options.defaultTimeZone ?? hostTimeZone()) : validateTimeZone(spec.tz);
  if ((spec.cron === undefined) === (spec.every === undefined)) throw new UsageError('give the cadence as cron or every, exactly one of them');
  const cadence: ScheduleCadence =
    spec.cron !== undefined ? { kind: 'cron', expression: validateCron(spec.cron, timeZone, options.now) } : { kind: 'every', everyMs: parseEvery(spec.every) };
  const noOverlap = spec.no_overlap === undefined ? false : booleanField(spec.no_overlap, 'no_overlap');
  const catchUp = spec.catch_up === undefined ? 'last' : parseCatchUp(spec.catch_up);

  const job: JobTemplate = {};
  for (const [key, value] of Object.entries(spec)) if (!SCHEDULE_FIELDS.has(key)) job[key] = value;
  const perJob = PER_JOB_FIELDS.find((field) => field in job);
  if (perJob !== undefined) throw new UsageError(`${perJob}: not allowed in a schedule; each tick makes a job with its own id that runs at once`);
  if (job.cwd === undefined && options.defaultCwd !== null) job.cwd = options.defaultCwd;
  // Validated the way enqueue validates a job; the template is kept as given, and parsed again for each tick.
  parseJobSpec({ ...job, id: scheduleJobId(name, 0) }, null);
  return { name, cadence, timeZone, noOverlap, catchUp, job };
}

function parseEvery(value: unknown): number {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value, 'every') : NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`every: expected a duration such as 10m or 30s, got ${JSON.stringify(value)}`);
  if (ms < MIN_EVERY_MS || ms % 1000 !== 0) throw new UsageError(`every: expected a whole number of seconds, at least 1s, got ${JSON.stringify(value)}`);
  return ms;
}

export function parseCatchUp(value: unknown): CatchUpPolicy {
  if (value !== 'none' && value !== 'last') throw new UsageError(`catch_up: expected none or last, got ${JSON.stringify(value)}`);
  return value;
}

function booleanField(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new UsageError(`${field}: expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * The id of the job a schedule's tick makes: deterministic, so two workers firing the same tick insert one job.
 * Whole-second ticks read `NAME@2030-01-01T09:05:00Z`.
 */
export function scheduleJobId(name: string, tickAt: number): string {
  return `${name}@${new Date(tickAt).toISOString().replace('.000Z', 'Z')}`;
}

/** The job a tick makes: the template, parsed as enqueue parses a job, with the tick's id; it runs at once. */
export function jobForTick(schedule: Pick<Schedule, 'name' | 'job'>, tickAt: number): NewJob {
  return parseJobSpec({ ...schedule.job, id: scheduleJobId(schedule.name, tickAt) }, null).job;
}

/** The job `schedule run` makes, outside the cadence: its id names the schedule and the moment. */
export function jobForManualRun(schedule: Pick<Schedule, 'name' | 'job'>, now: number): NewJob {
  return parseJobSpec({ ...schedule.job, id: `${schedule.name}@run-${new Date(now).toISOString()}` }, null).job;
}

/** The first tick after `now`: a new or resumed schedule fires from there. */
export function firstRunAt(schedule: Pick<NewSchedule, 'cadence' | 'timeZone'>, now: number): number {
  const next = nextTick(schedule.cadence, schedule.timeZone, now);
  if (next === null) throw new UsageError('the cadence never fires again');
  return next;
}

/** What firing a due schedule does: which tick (if any) becomes a job, and the schedule's next run after it. */
export interface TickPlan {
  /** The tick that fires, or null when every due tick was missed and `catch-up none` drops them. */
  tickAt: number | null;
  /** The first tick after `now` (NEVER when the cadence never fires again). */
  nextRunAt: number;
  /** Some due ticks were not fired: missed while no worker ran. */
  missed: boolean;
}

/** The next run of a cadence that never fires again: the largest time a Date holds. */
export const NEVER = 8_640_000_000_000_000;

/**
 * Plans the firing of a schedule due at `now` (its nextRunAt <= now). Of the ticks due, at most one fires: the latest,
 * under `catch-up last` always, under `none` only when it is on time (within ON_TIME_GRACE_MS).
 */
export function planTick(schedule: Pick<Schedule, 'cadence' | 'timeZone' | 'catchUp' | 'nextRunAt'>, now: number): TickPlan {
  const latest = latestTickAtOrBefore(schedule.cadence, schedule.timeZone, now, schedule.nextRunAt);
  const onTime = now - latest <= ON_TIME_GRACE_MS;
  const tickAt = schedule.catchUp === 'last' || onTime ? latest : null;
  const nextRunAt = nextTick(schedule.cadence, schedule.timeZone, latest) ?? NEVER;
  return { tickAt, nextRunAt, missed: latest !== schedule.nextRunAt || tickAt === null };
}
