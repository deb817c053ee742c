import type { CliContext } from '../context';
import { printLine } from '../output';

/** Removes the schedule; the jobs it already made stay. */
export async function run(ctx: CliContext, name: string): Promise<void> {
  const queue = await ctx.open();
  await queue.scheduleRemove(name);
  printLine(`removed schedule ${name}`);
}
