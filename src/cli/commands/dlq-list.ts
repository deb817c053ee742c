import { jobToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { printJson, printLine, printTable, relativeTime } from '../output';

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const jobs = await queue.dlqList();
  if (options.json) return printJson(jobs.map(jobToJson));
  if (jobs.length === 0) return printLine('The dead letter queue is empty.');
  const now = await queue.now();
  printTable(
    ['id', 'attempts', 'died', 'last error', 'command'],
    jobs.map((job) => [job.id, String(job.attempts), relativeTime(job.finishedAt, now), job.lastError ?? '-', job.command.replace(/\s+/g, ' ')]),
  );
}
