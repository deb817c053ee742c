import { describeCadence } from '../../core/schedule-cadence';
import { scheduleToJson } from '../../core/schedule-json';
import type { CliContext } from '../context';
import { printJson, printLine, relativeTime } from '../output';
import { lastJobCell } from './schedule-list';

export async function run(ctx: CliContext, name: string, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const schedule = await queue.scheduleShow(name);
  if (options.json) return printJson(scheduleToJson(schedule));
  const now = await queue.store.now();
  const json = scheduleToJson(schedule);
  const rows: [string, string][] = [
    ['name', schedule.name],
    ['schedule', describeCadence(schedule.cadence)],
    ['zone', schedule.timeZone],
    ['paused', schedule.paused ? 'yes' : 'no'],
    ['next run', schedule.paused ? '- (paused)' : `${json.next_run_at ?? 'never'} (${relativeTime(schedule.nextRunAt, now)})`],
    ['no overlap', schedule.noOverlap ? 'yes' : 'no'],
    ['catch-up', schedule.catchUp],
    ['last tick', json.last_tick_at ?? '-'],
    ['last job', lastJobCell(schedule)],
    ['job', JSON.stringify(schedule.job)],
  ];
  for (const [label, value] of rows) printLine(`${`${label}:`.padEnd(12)}${value}`);
}
