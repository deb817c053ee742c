import type { Schedule } from '../../core/schedule';
import { describeCadence } from '../../core/schedule-cadence';
import { scheduleToJson } from '../../core/schedule-json';
import type { CliContext } from '../context';
import { colorState, printJson, printTable, relativeTime } from '../output';

/** The last job column: its id and state (`-` when none, `purged` when it is gone). */
export function lastJobCell(schedule: Schedule): string {
  if (schedule.lastJobId === null) return '-';
  return `${schedule.lastJobId} (${schedule.lastJobState === null ? 'purged' : colorState(schedule.lastJobState)})`;
}

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const schedules = await queue.scheduleList();
  if (options.json) return printJson(schedules.map(scheduleToJson));
  const now = await queue.store.now();
  printTable(
    ['name', 'schedule', 'zone', 'next run', 'last job', 'paused'],
    schedules.map((schedule) => [
      schedule.name,
      describeCadence(schedule.cadence),
      schedule.timeZone,
      schedule.paused ? '-' : `${new Date(schedule.nextRunAt).toISOString().replace('.000Z', 'Z')} (${relativeTime(schedule.nextRunAt, now)})`,
      lastJobCell(schedule),
      schedule.paused ? 'yes' : 'no',
    ]),
  );
}
