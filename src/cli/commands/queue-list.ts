import { formatRate } from '../../core/queue-settings';
import { queueToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { printJson, printLine, printTable } from '../output';

/** Every queue: its jobs per state, how many run, its limit, rate and whether it is paused. */
export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const queues = await queue.listQueues();
  if (options.json) return printJson(queues.map(queueToJson));
  if (queues.length === 0) return printLine('No queues yet: a queue exists once a job names it (enqueue --queue NAME) or it is given a setting (queue set NAME).');
  printTable(
    ['name', 'waiting', 'pending', 'running', 'completed', 'failed', 'dead', 'cancelled', 'limit', 'rate', 'paused'],
    queues.map((record) => [
      record.name,
      String(record.counts.waiting),
      String(record.counts.pending),
      String(record.running),
      String(record.counts.completed),
      String(record.counts.failed),
      String(record.counts.dead),
      String(record.counts.cancelled),
      record.concurrency === null ? '-' : String(record.concurrency),
      record.rate === null ? '-' : formatRate(record.rate),
      record.paused ? 'yes' : 'no',
    ]),
  );
}
