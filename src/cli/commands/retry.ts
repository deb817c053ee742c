import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export async function run(ctx: CliContext, ids: string[], options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const retried = await queue.retry(ids);
  if (options.json) return printJson({ retried });
  printLine(`retried ${retried.length} job(s): ${retried.join(' ')}`);
}
