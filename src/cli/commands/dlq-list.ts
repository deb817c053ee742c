import { validateQueueName } from '../../core/queue-settings';
import { jobToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { printJson, printLine, printTable, relativeTime } from '../output';
import { queueColumn } from '../queue-description';

export async function run(ctx: CliContext, options: { queue?: string; json?: boolean }): Promise<void> {
  if (options.queue !== undefined) validateQueueName(options.queue, '--queue');
  const queue = await ctx.open();
  const jobs = await queue.dlqList({ queue: options.queue });
  if (options.json) return printJson(jobs.map(jobToJson));
  if (jobs.length === 0) return printLine(options.queue === undefined ? 'The dead letter queue is empty.' : `The dead letter queue holds no job of queue ${options.queue}.`);
  const now = await queue.now();
  const column = queueColumn(jobs, options.queue);
  printTable(
    ['id', ...column.header, 'attempts', 'died', 'last error', 'command'],
    jobs.map((job) => [job.id, ...column.cell(job), String(job.attempts), relativeTime(job.finishedAt, now), job.lastError ?? '-', job.command.replace(/\s+/g, ' ')]),
  );
}
