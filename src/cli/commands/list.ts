import { parseState } from '../../queue';
import { jobToJson } from '../../core/serialize';
import { UsageError } from '../../core/errors';
import { validateQueueName } from '../../core/queue-settings';
import type { CliContext } from '../context';
import { colorState, printJson, printTable, relativeTime } from '../output';
import { queueColumn } from '../queue-description';

export async function run(ctx: CliContext, options: { state?: string; queue?: string; limit?: number; offset?: number; command?: string; json?: boolean }): Promise<void> {
  if (options.offset !== undefined && options.offset < 0) throw new UsageError(`--offset: expected a whole number >= 0, got ${options.offset}`);
  if (options.state !== undefined) parseState(options.state);
  if (options.queue !== undefined) validateQueueName(options.queue, '--queue');
  if (options.limit !== undefined && options.limit < 1) throw new UsageError(`--limit: expected a whole number >= 1, got ${options.limit}`);
  const queue = await ctx.open();
  const jobs = await queue.list({ state: options.state, queue: options.queue, limit: options.limit, offset: options.offset, command: options.command });
  if (options.json) return printJson(jobs.map(jobToJson));
  const now = await queue.now();
  const column = queueColumn(jobs, options.queue);
  printTable(
    ['id', ...column.header, 'state', 'attempts', 'priority', 'run at', 'created', 'command'],
    jobs.map((job) => [
      job.id,
      ...column.cell(job),
      colorState(job.state),
      `${job.attempts}/${job.maxRetries + 1}`,
      String(job.priority),
      job.state === 'pending' || job.state === 'failed' ? relativeTime(job.runAt, now) : '-',
      relativeTime(job.createdAt, now),
      job.command.replace(/\s+/g, ' '),
    ]),
  );
}
