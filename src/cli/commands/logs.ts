import type { CliContext } from '../context';
import { printJson } from '../output';

export async function run(ctx: CliContext, id: string, options: { attempt?: number; follow?: boolean; json?: boolean }): Promise<number> {
  const queue = await ctx.open();
  if (options.follow) {
    const { followJob } = await import('../follow');
    await queue.getJob(id);
    await followJob(queue, id, { attempt: options.attempt });
    return 0;
  }
  const { attempt, chunks } = await queue.logs(id, options.attempt);
  if (options.json) {
    printJson({
      id,
      attempt: attempt?.attempt ?? null,
      truncated: attempt?.outputTruncated ?? false,
      stdout: chunks.filter((c) => c.stream === 'stdout').map((c) => c.data).join(''),
      stderr: chunks.filter((c) => c.stream === 'stderr').map((c) => c.data).join(''),
    });
    return 0;
  }
  if (attempt === null) {
    process.stderr.write(`queuectl: job ${id} has not run yet\n`);
    return 0;
  }
  if (attempt.outputTruncated) process.stderr.write(`queuectl: output of attempt ${attempt.attempt} was cut to its last ${attempt.outputBytes} bytes (config output-limit)\n`);
  for (const chunk of chunks) (chunk.stream === 'stderr' ? process.stderr : process.stdout).write(chunk.data);
  return 0;
}
