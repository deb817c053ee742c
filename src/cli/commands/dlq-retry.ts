import { UsageError } from '../../core/errors';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export async function run(ctx: CliContext, ids: string[], options: { all?: boolean; json?: boolean }): Promise<void> {
  if (options.all && ids.length > 0) throw new UsageError('dlq retry: give job ids or --all, not both');
  if (!options.all && ids.length === 0) throw new UsageError('dlq retry: give job ids or --all');
  const queue = await ctx.open();
  const retried = await queue.dlqRetry({ ids, all: options.all });
  if (options.json) return printJson({ retried });
  printLine(retried.length === 0 ? 'no dead jobs to retry' : `retried ${retried.length} job(s): ${retried.join(' ')}`);
}
