import { parseDuration } from '../../core/duration';
import { validateQueueName } from '../../core/queue-settings';
import { parseFinishedState } from '../../queue';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export async function run(ctx: CliContext, options: { olderThan: string; state?: string[]; queue?: string; dryRun?: boolean; json?: boolean }): Promise<void> {
  const olderThanMs = parseDuration(options.olderThan, '--older-than');
  const states = options.state ?? ['completed', 'dead', 'cancelled'];
  states.forEach(parseFinishedState);
  if (options.queue !== undefined) validateQueueName(options.queue, '--queue');
  const queue = await ctx.open();
  const count = await queue.purge({ states, olderThanMs, dryRun: options.dryRun, queue: options.queue });
  if (options.json) return printJson({ purged: options.dryRun ? 0 : count, matched: count, dry_run: options.dryRun === true });
  const scope = options.queue === undefined ? '' : ` of queue ${options.queue}`;
  printLine(options.dryRun ? `${count} job(s)${scope} would be purged` : `purged ${count} job(s)${scope}`);
}
