import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, name: string): Promise<void> {
  const queue = await ctx.open();
  await queue.schedulePause(name, true);
  printLine(`paused schedule ${name}`);
}
