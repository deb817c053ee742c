import { validateQueueName } from '../../core/queue-settings';
import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, name: string): Promise<void> {
  validateQueueName(name);
  const queue = await ctx.open();
  const record = await queue.resumeQueue(name);
  printLine(`resumed queue ${record.name}: its jobs start again`);
}
