import { jobToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

/** Enqueues one job of the schedule now, outside its cadence; prints its id. */
export async function run(ctx: CliContext, name: string, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const job = await queue.scheduleRun(name);
  if (options.json) return printJson(jobToJson(job));
  printLine(job.id);
}
