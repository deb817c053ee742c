import { validateQueueName } from '../../core/queue-settings';
import type { CliContext } from '../context';
import { printLine } from '../output';

/** A queue may be paused before any job names it (as `config set` may run first), so this creates the store. */
export async function run(ctx: CliContext, name: string): Promise<void> {
  validateQueueName(name);
  const queue = await ctx.open({ create: true });
  const record = await queue.pauseQueue(name);
  const running = record.running === 0 ? '' : `; its ${record.running} running job${record.running === 1 ? '' : 's'} will finish`;
  printLine(`paused queue ${record.name}: its jobs wait until 'queuectl queue resume ${record.name}'${running}`);
}
