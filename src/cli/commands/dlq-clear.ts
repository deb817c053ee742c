import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const cleared = await queue.dlqClear();
  if (options.json) return printJson({ cleared });
  printLine(`deleted ${cleared} dead job(s)`);
}
