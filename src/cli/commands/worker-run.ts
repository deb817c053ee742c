import { parseQueueList } from '../../core/queue-settings';
import { validateWorkerConcurrency } from '../../core/worker-slots';
import { recordLocalWorker } from '../../worker/local-workers';
import { Worker, WORKER_POOL_SIZE } from '../../worker/worker';
import { WorkerLog } from '../../worker/worker-log';
import type { CliContext } from '../context';

/**
 * One worker in this process until it is asked to stop: SIGTERM/SIGINT stop gracefully, a second one forces. Its log
 * (stderr, the log file under `worker start`) never stops it: a line that cannot be written is counted and reported
 * once writing works again.
 */
export async function run(ctx: CliContext, options: { concurrency?: number; queue?: string } = {}): Promise<void> {
  const concurrency = validateWorkerConcurrency(options.concurrency ?? 1);
  const queues = options.queue === undefined ? null : parseQueueList(options.queue);
  WorkerLog.guardStandardStreams();
  const log = new WorkerLog();
  // One pooled connection for every statement, whatever the concurrency: with its LISTEN, 2 on PostgreSQL.
  const queue = await ctx.open({ durability: 'normal', create: true, poolSize: WORKER_POOL_SIZE });
  const worker: Worker = new Worker({ store: queue.store, concurrency, queues, log: (line) => log.write(`${worker.id} ${line}`) });
  const forget = recordLocalWorker(queue.store.location);
  let signals = 0;
  const onSignal = () => void worker.stop(++signals === 1 ? 'graceful' : 'kill');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const serves = `${concurrency === 1 ? '' : `, ${concurrency} jobs at once`}${queues === null ? '' : `, queues ${queues.join(',')}`}`;
  log.write(`${worker.id} started (pid ${process.pid}, store ${queue.store.location}${serves})`);
  try {
    await worker.run();
  } finally {
    forget();
  }
  log.write(`${worker.id} stopped`);
}
