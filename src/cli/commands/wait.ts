import { parseSecondsMs } from '../../core/duration';
import { jobToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { waitForJobs } from '../follow';
import { colorState, printJson, printLine } from '../output';

export async function run(ctx: CliContext, ids: string[], options: { timeout?: string; json?: boolean }): Promise<number> {
  const timeoutMs = options.timeout === undefined ? null : parseSecondsMs(options.timeout, '--timeout');
  const queue = await ctx.open();
  const { jobs, timedOut } = await waitForJobs(queue, ids, timeoutMs);
  if (options.json) printJson(jobs.map(jobToJson));
  else for (const job of jobs) printLine(`${job.id}  ${colorState(job.state)}${job.lastError ? `  (${job.lastError})` : ''}`);
  if (timedOut) {
    process.stderr.write(`queuectl: timed out after ${options.timeout}s with ${jobs.filter((j) => !['completed', 'dead', 'cancelled'].includes(j.state)).length} job(s) unfinished\n`);
    return 124;
  }
  return jobs.every((job) => job.state === 'completed') ? 0 : 1;
}
