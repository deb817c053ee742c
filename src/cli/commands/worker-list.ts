import { workerToJson } from '../../core/serialize';
import { currentHost } from '../../platform/process-info';
import { workerSpawnEngine } from '../../worker/spawn';
import type { CliContext } from '../context';
import { printJson, printLine, printTable, relativeTime } from '../output';
import { workerSlots } from '../worker-lines';

/**
 * Lists registered workers: each one's slots in use (`busy 3/8`), the queues it serves and every job it runs; ones
 * found gone (no heartbeat, or their process exited) are shown as gone. Listing changes nothing: a running worker's
 * reaper removes gone registrations.
 */
export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const workers = await queue.workers();
  const host = currentHost();
  // How its jobs start is told from its process, so only for a live worker of this host.
  const rows = workers.map((worker) =>
    workerToJson(worker, !worker.alive, !worker.alive || worker.host !== host ? null : workerSpawnEngine(worker.pid)),
  );
  if (options.json) return printJson(rows);
  if (rows.length === 0) return printLine('No workers running. Start some with: queuectl worker start --count 4');
  const now = await queue.now();
  printTable(
    ['id', 'pid', 'host', 'state', 'queues', 'last heartbeat', 'jobs'],
    workers.map((worker) => [
      worker.id, String(worker.pid), worker.host, workerSlots(worker), worker.queues?.join(',') ?? 'all',
      relativeTime(worker.lastHeartbeat, now), worker.runningJobs.join(' ') || '-',
    ]),
  );
}
