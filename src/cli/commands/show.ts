import { attemptToJson, isoTime, jobToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { colorState, printJson, printLine, printTable, relativeTime } from '../output';

export async function run(ctx: CliContext, id: string, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const { job, attempts } = await queue.show(id);
  if (options.json) return printJson({ ...jobToJson(job), history: attempts.map(attemptToJson) });
  const now = await queue.now();
  const fields: [string, string][] = [
    ['id', job.id],
    ['command', job.command],
    ['queue', job.queue],
    ['state', colorState(job.state)],
    ['attempts', `${job.attempts} of ${job.maxRetries + 1}`],
    ['priority', String(job.priority)],
    ['run at', `${isoTime(job.runAt)} (${relativeTime(job.runAt, now)})`],
    ['timeout', job.timeout === null ? 'config job-timeout' : `${job.timeout}s`],
    ['cwd', job.cwd ?? '-'],
    ['env', job.env ? Object.entries(job.env).map(([k, v]) => `${k}=${v}`).join(' ') : '-'],
    ['depends on', job.dependsOn.length > 0 ? job.dependsOn.join(', ') : '-'],
    ['created', isoTime(job.createdAt)],
    ['finished', job.finishedAt === null ? '-' : isoTime(job.finishedAt)],
    ['worker', job.workerId ?? '-'],
    ['last error', job.lastError ?? '-'],
  ];
  for (const [name, value] of fields) printLine(`${name.padEnd(11)} ${value}`);
  printLine();
  if (attempts.length === 0) return printLine('No attempts yet.');
  printTable(
    ['#', 'started', 'took', 'worker', 'host', 'outcome', 'exit', 'error'],
    attempts.map((a) => [
      String(a.attempt),
      isoTime(a.startedAt),
      a.finishedAt === null ? 'running' : `${((a.finishedAt - a.startedAt) / 1000).toFixed(2)}s`,
      a.workerId,
      a.host,
      a.outcome ?? '-',
      a.exitCode === null ? (a.signal ?? '-') : String(a.exitCode),
      a.error ?? '',
    ]),
  );
}
