import { UsageError } from '../../core/errors';
import { parseScheduleSpec, type ScheduleSpecInput } from '../../core/schedule';
import { describeCadence } from '../../core/schedule-cadence';
import { scheduleToJson } from '../../core/schedule-json';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';
import { specFromFlags, type EnqueueOptions } from './enqueue';

interface ScheduleAddOptions extends EnqueueOptions {
  cron?: string;
  every?: string;
  tz?: string;
  /** commander's `--no-overlap`: false when given. */
  overlap?: boolean;
  catchUp?: string;
  replace?: boolean;
  json?: boolean;
}

function specFromOptions(name: string, options: ScheduleAddOptions): ScheduleSpecInput {
  const spec: ScheduleSpecInput = { name, ...specFromFlags(options) };
  if (spec.command === undefined) throw new UsageError(`schedule add: give the job's --command (or --command-file), or the whole schedule as JSON`);
  if (options.cron !== undefined) spec.cron = options.cron;
  if (options.every !== undefined) spec.every = options.every;
  if (options.tz !== undefined) spec.tz = options.tz;
  if (options.overlap === false) spec.no_overlap = true;
  if (options.catchUp !== undefined) spec.catch_up = options.catchUp;
  return spec;
}

function specFromJson(text: string, options: ScheduleAddOptions): ScheduleSpecInput {
  const flags = specFromFlags(options);
  const scheduleFlags = [options.cron, options.every, options.tz, options.catchUp].some((value) => value !== undefined) || options.overlap === false;
  if (Object.keys(flags).length > 0 || scheduleFlags) throw new UsageError('give the schedule as JSON or as flags, not both');
  try {
    return JSON.parse(text) as ScheduleSpecInput;
  } catch (err) {
    throw new UsageError(`invalid JSON: ${(err as Error).message}`);
  }
}

/** `schedule add NAME --cron … --command …`, or `schedule add '{"name":…,"cron":…,"command":…}'`. */
export async function run(ctx: CliContext, nameOrJson: string, options: ScheduleAddOptions): Promise<void> {
  const input = nameOrJson.trimStart().startsWith('{') ? specFromJson(nameOrJson, options) : specFromOptions(nameOrJson, options);
  // Validated before the store opens: a bad expression, zone or duration leaves it untouched.
  const schedule = parseScheduleSpec(input, { now: Date.now(), defaultCwd: process.cwd() });
  const queue = await ctx.open({ create: true });
  const stored = await queue.scheduleAdd(schedule, { replace: options.replace });
  if (options.json) return printJson(scheduleToJson(stored));
  printLine(`schedule ${stored.name}: ${describeCadence(stored.cadence)} (${stored.timeZone}), next run ${new Date(stored.nextRunAt).toISOString().replace('.000Z', 'Z')}`);
}
