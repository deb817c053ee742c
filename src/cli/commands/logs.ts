import { UsageError } from '../../core/errors';
import type { OutputChunk } from '../../core/job';
import type { CliContext } from '../context';
import { printJson } from '../output';

/** The last `count` lines of the output, each still on the stream it was written to. */
function lastLines(chunks: OutputChunk[], count: number): OutputChunk[] {
  const lines: OutputChunk[] = [];
  for (const chunk of chunks) {
    for (const piece of chunk.data.split(/(?<=\n)/)) {
      const last = lines[lines.length - 1];
      // A line split across chunks of one stream is one line.
      if (last && last.stream === chunk.stream && !last.data.endsWith('\n')) last.data += piece;
      else lines.push({ ...chunk, data: piece });
    }
  }
  return lines.slice(Math.max(0, lines.length - count));
}

export async function run(ctx: CliContext, id: string, options: { attempt?: number; follow?: boolean; json?: boolean; tail?: number }): Promise<number> {
  if (options.tail !== undefined && options.follow) throw new UsageError('--tail shows the end of finished output; give it without --follow');
  const queue = await ctx.open();
  if (options.follow) {
    const { followJob } = await import('../follow');
    await queue.getJob(id);
    await followJob(queue, id, { attempt: options.attempt });
    return 0;
  }
  const { attempt, chunks: all } = await queue.logs(id, options.attempt);
  const chunks = options.tail === undefined ? all : lastLines(all, options.tail);
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
