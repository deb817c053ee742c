import { formatDuration, parseDuration } from '../../core/duration';
import { JOB_STATES } from '../../core/job';
import { statsToJson } from '../../core/stats-json';
import { UsageError } from '../../core/errors';
import type { CliContext } from '../context';
import { colorState, printJson, printLine, printTable } from '../output';

/** The longest window: a month of finished attempts is still one index range. */
const MAX_WINDOW_MS = 31 * 86_400_000;

const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);

export async function run(ctx: CliContext, options: { since?: string; json?: boolean }): Promise<void> {
  const windowMs = parseDuration(options.since ?? '1h', '--since');
  if (windowMs < 60_000 || windowMs > MAX_WINDOW_MS) throw new UsageError(`--since: '${options.since}' is out of range; use 1m to 31d`);
  const queue = await ctx.open();
  const stats = await queue.stats({ windowMs });
  if (options.json) return printJson(statsToJson(stats));
  const f = stats.finished;
  const since = options.since ?? '1h';
  printLine(`Finished in the last ${since}: ${f.succeeded + f.failed} (${stats.finishedPerMinute.toFixed(2)}/min)`);
  printLine(`  succeeded  ${f.succeeded}  ${percent(stats.successRate)}`);
  printLine(`  failed     ${f.failed}  ${percent(stats.failureRate)}`);
  const d = f.durationMs;
  printLine(`Run time: ${d === null ? '-' : `p50 ${formatDuration(d.p50)}, p95 ${formatDuration(d.p95)}, max ${formatDuration(d.max)}`}`);
  const width = Math.max(...JOB_STATES.map((s) => s.length));
  printLine('Queue depth');
  for (const state of JOB_STATES) {
    printLine(`  ${colorState(state)}${' '.repeat(width - state.length)}  ${stats.counts[state]}${stats.cappedStates.includes(state) ? '+' : ''}`);
  }
  printLine(`Oldest pending: ${stats.oldestPendingAgeMs === null ? '-' : formatDuration(stats.oldestPendingAgeMs)}`);
  if (f.byWorker.length === 0) return printLine('Per worker: -');
  printLine('Per worker');
  printTable(['worker', 'succeeded', 'failed'], f.byWorker.map((w) => [w.workerId, String(w.succeeded), String(w.failed)]));
}
