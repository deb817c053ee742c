import type { CliContext } from '../context';
import { printLine } from '../output';

/** Resumes from the next tick after now: ticks that passed while paused do not run. */
export async function run(ctx: CliContext, name: string): Promise<void> {
  const queue = await ctx.open();
  const schedule = await queue.schedulePause(name, false);
  printLine(`resumed schedule ${name}; next run ${new Date(schedule.nextRunAt).toISOString().replace('.000Z', 'Z')}`);
}
