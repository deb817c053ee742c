import { workerToJson } from '../../core/serialize';
import { currentHost } from '../../worker/process-info';
import { workerSpawnEngine } from '../../worker/spawn';
import { workerIsAlive } from '../../worker/supervisor';
import type { CliContext } from '../context';
import { printJson, printLine, printTable, relativeTime } from '../output';

/** Lists workers; ones found gone (no heartbeat, or their process exited) are shown once as gone and removed. */
export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const config = await queue.config();
  const workers = await queue.store.listWorkers({ staleAfterMs: config['lease-timeout'] * 1000 });
  const rows: ReturnType<typeof workerToJson>[] = [];
  const host = currentHost();
  for (const worker of workers) {
    const gone = !workerIsAlive(worker);
    if (gone) await queue.store.removeWorker({ workerId: worker.id });
    // How its jobs start is told from its process, so only for a live worker of this host.
    rows.push(workerToJson(worker, gone, gone || worker.host !== host ? null : workerSpawnEngine(worker.pid)));
  }
  if (options.json) return printJson(rows);
  if (rows.length === 0) return printLine('No workers running. Start some with: queuectl worker start --count 4');
  const now = await queue.store.now();
  printTable(
    ['id', 'pid', 'host', 'state', 'current job', 'last heartbeat'],
    workers.map((worker, i) => [worker.id, String(worker.pid), worker.host, rows[i]!.state, worker.currentJob ?? '-', relativeTime(worker.lastHeartbeat, now)]),
  );
}
