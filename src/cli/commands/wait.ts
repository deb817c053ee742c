import { UsageError } from '../../core/errors';
import { jobToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { waitForJobs } from '../follow';
import { colorState, printJson, printLine } from '../output';

export async function run(ctx: CliContext, ids: string[], options: { timeout?: string; json?: boolean }): Promise<number> {
  let timeoutMs: number | null = null;
  if (options.timeout !== undefined) {
    const seconds = Number(options.timeout);
    if (options.timeout.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--timeout: expected seconds >= 0, got '${options.timeout}'`);
    timeoutMs = seconds * 1000;
  }
  const queue = await ctx.open();
  for (const id of ids) await queue.getJob(id);
  const { jobs, timedOut } = await waitForJobs(queue, ids, timeoutMs);
  if (options.json) printJson(jobs.map(jobToJson));
  else for (const job of jobs) printLine(`${job.id}  ${colorState(job.state)}${job.lastError ? `  (${job.lastError})` : ''}`);
  if (timedOut) {
    process.stderr.write(`queuectl: timed out after ${options.timeout}s with ${jobs.filter((j) => !['completed', 'dead', 'cancelled'].includes(j.state)).length} job(s) unfinished\n`);
    return 124;
  }
  return jobs.every((job) => job.state === 'completed') ? 0 : 1;
}
