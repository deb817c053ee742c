import { formatDuration } from '../../core/duration';
import { JOB_STATES, type JobState } from '../../core/job';
import { workerToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { colorState, printJson, printLine } from '../output';
import { workerStatusLines } from '../worker-lines';

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const status = await queue.status();
  const live = status.workers.filter((worker) => worker.alive);
  const slotsInUse = live.reduce((sum, worker) => sum + worker.runningJobs.length, 0);
  const slots = live.reduce((sum, worker) => sum + worker.concurrency, 0);
  if (options.json) {
    printJson({
      jobs: status.counts,
      jobs_capped: status.cappedStates,
      workers: {
        active: status.activeWorkers,
        busy: status.busyWorkers,
        by_host: status.workersByHost,
        slots_in_use: slotsInUse,
        slots,
        list: live.map((worker) => workerToJson(worker, false)),
      },
      oldest_pending_age_seconds: status.oldestPendingAgeMs === null ? null : Math.round(status.oldestPendingAgeMs / 1000),
      next_run_in_seconds: status.nextRunInMs === null ? null : Math.round(status.nextRunInMs / 1000),
      store: queue.location,
    });
    return;
  }
  const width = Math.max(...JOB_STATES.map((s) => s.length));
  printLine('Jobs');
  const count = (state: JobState) => `${status.counts[state]}${status.cappedStates.includes(state) ? '+' : ''}`;
  for (const state of JOB_STATES) printLine(`  ${colorState(state)}${' '.repeat(width - state.length)}  ${count(state)}`);
  const hosts = Object.entries(status.workersByHost).map(([host, n]) => `${host}: ${n}`).join(', ');
  printLine(`Workers: ${status.activeWorkers} active, ${status.busyWorkers} busy, ${slotsInUse}/${slots} slots in use${hosts ? ` (${hosts})` : ''}`);
  for (const line of workerStatusLines(live)) printLine(line);
  printLine(`Oldest pending: ${status.oldestPendingAgeMs === null ? '-' : formatDuration(status.oldestPendingAgeMs)} (due jobs only)`);
  printLine(`Next scheduled run: ${status.nextRunInMs === null ? '-' : `in ${formatDuration(status.nextRunInMs)}`}`);
  printLine(`Store: ${queue.location}`);
}
