import { formatDuration } from '../../core/duration';
import { JOB_STATES, type JobState } from '../../core/job';
import { validateQueueName, type QueueRecord } from '../../core/queue-settings';
import { queueToJson, workerToJson } from '../../core/serialize';
import type { ListedWorker, QueueStatus } from '../../queue';
import type { CliContext } from '../context';
import { colorState, formatTable, printJson, printLine } from '../output';
import { describeQueueSettings } from '../queue-description';
import { workerStatusLines } from '../worker-lines';

export async function run(ctx: CliContext, options: { queue?: string; json?: boolean }): Promise<void> {
  if (options.queue !== undefined) validateQueueName(options.queue, '--queue');
  const queue = await ctx.open();
  const status = await queue.status({ queue: options.queue });
  // With --queue, the workers that serve it (every queue, or a list naming it).
  const live = status.workers.filter((worker) => worker.alive && (status.queue === null || worker.queues === null || worker.queues.includes(status.queue.name)));
  if (options.json) return printJson(statusJson(status, live, queue.location));
  if (status.queue !== null) {
    const record = status.queue;
    printLine(`Queue ${record.name}: ${describeQueueSettings(record)}${record.paused ? ` (resume with: queuectl queue resume ${record.name})` : ''}`);
  }
  const width = Math.max(...JOB_STATES.map((s) => s.length));
  printLine('Jobs');
  const count = (state: JobState) => `${status.counts[state]}${status.cappedStates.includes(state) ? '+' : ''}`;
  for (const state of JOB_STATES) printLine(`  ${colorState(state)}${' '.repeat(width - state.length)}  ${count(state)}`);
  if (status.queue === null) printQueues(status.queues);
  const hosts = Object.entries(status.workersByHost).map(([host, n]) => `${host}: ${n}`).join(', ');
  const { inUse, slots } = slotCounts(live);
  const serving = status.queue === null ? '' : ' serving it';
  printLine(`Workers${serving}: ${status.activeWorkers} active, ${status.busyWorkers} busy, ${inUse}/${slots} slots in use${hosts ? ` (${hosts})` : ''}`);
  for (const line of workerStatusLines(live)) printLine(line);
  if (status.queue === null) {
    printLine(`Oldest pending: ${status.oldestPendingAgeMs === null ? '-' : formatDuration(status.oldestPendingAgeMs)} (due jobs only)`);
    printLine(`Next scheduled run: ${status.nextRunInMs === null ? '-' : `in ${formatDuration(status.nextRunInMs)}`}`);
  }
  printLine(`Store: ${queue.location}`);
}

function slotCounts(live: ListedWorker[]): { inUse: number; slots: number } {
  return {
    inUse: live.reduce((sum, worker) => sum + worker.runningJobs.length, 0),
    slots: live.reduce((sum, worker) => sum + worker.concurrency, 0),
  };
}

/** Counts per queue when there is more than one; a paused queue is named whatever their number. */
function printQueues(queues: QueueRecord[]): void {
  if (queues.length > 1) {
    printLine('Queues');
    // A count at the cap status counts up to is "at least": shown with a +, as the totals are.
    const count = (record: QueueRecord, state: JobState) => `${record.counts[state]}${record.capped.includes(state) ? '+' : ''}`;
    const rows = queues.map((record) => [
      record.name,
      count(record, 'pending'),
      record.concurrency === null ? count(record, 'processing') : `${count(record, 'processing')}/${record.concurrency}`,
      count(record, 'failed'),
      count(record, 'dead'),
      count(record, 'completed'),
      record.concurrency === null && record.rate === null && !record.paused ? '-' : describeQueueSettings(record),
    ]);
    for (const line of formatTable(['queue', 'pending', 'running', 'failed', 'dead', 'completed', 'settings'], rows, null)) printLine(`  ${line}`);
  }
  const paused = queues.filter((record) => record.paused).map((record) => record.name);
  if (paused.length > 0) {
    const one = paused.length === 1;
    printLine(`Paused: ${paused.join(', ')} (${one ? 'its' : 'their'} jobs wait; resume with: queuectl queue resume ${one ? paused[0] : 'NAME'})`);
  }
}

function statusJson(status: QueueStatus, live: ListedWorker[], store: string): Record<string, unknown> {
  const { inUse, slots } = slotCounts(live);
  const workers = {
    active: status.activeWorkers,
    busy: status.busyWorkers,
    by_host: status.workersByHost,
    slots_in_use: inUse,
    slots,
    list: live.map((worker) => workerToJson(worker, false)),
  };
  // For one queue the oldest due job and the next run are not known (the store times them across all queues).
  if (status.queue !== null) return { queue: queueToJson(status.queue), jobs: status.counts, jobs_capped: status.cappedStates, workers, store };
  return {
    jobs: status.counts,
    jobs_capped: status.cappedStates,
    workers,
    oldest_pending_age_seconds: status.oldestPendingAgeMs === null ? null : Math.round(status.oldestPendingAgeMs / 1000),
    next_run_in_seconds: status.nextRunInMs === null ? null : Math.round(status.nextRunInMs / 1000),
    queues: status.queues.map(queueToJson),
    store,
  };
}
