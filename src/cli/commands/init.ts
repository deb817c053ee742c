import type { CliContext } from '../context';
import { printLine } from '../output';

/** Creates the store if it is absent (an existing one is left as it is) and says where it is. */
export async function run(ctx: CliContext): Promise<void> {
  const queue = await ctx.open({ create: true });
  printLine(queue.location);
}
