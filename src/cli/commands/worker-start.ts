import { UsageError } from '../../core/errors';
import { parseQueueList } from '../../core/queue-settings';
import { validateWorkerConcurrency } from '../../core/worker-slots';
import { recordLocalWorker } from '../../worker/local-workers';
import { Worker, WORKER_POOL_SIZE } from '../../worker/worker';
import type { CliContext } from '../context';
import { printLine } from '../output';

interface StartOptions {
  count?: number;
  /** Jobs each worker runs at once (its slots). */
  concurrency?: number;
  /** `--queue a,b`: only jobs of these queues. */
  queue?: string;
  foreground?: boolean;
}

/** What each worker serves: how many jobs at once, and which queues (null: every queue). */
interface WorkerShape {
  concurrency: number;
  queues: string[] | null;
}

export async function run(ctx: CliContext, options: StartOptions): Promise<void> {
  // Validated before the store is opened (or created): bad input leaves nothing behind.
  const shape: WorkerShape = {
    concurrency: validateWorkerConcurrency(options.concurrency ?? 1),
    queues: options.queue === undefined ? null : parseQueueList(options.queue),
  };
  if (options.count !== undefined) validateCount(options.count);
  // Without --count, the `worker-count` config (default 1): read from the store, which this command creates anyway.
  // In the foreground this process is the workers': it opens the store as `worker run` does.
  const opening = options.foreground ? ({ create: true, durability: 'normal', poolSize: WORKER_POOL_SIZE } as const) : ({ create: true } as const);
  const count = options.count ?? (await (await ctx.open(opening)).config())['worker-count'];
  validateCount(count);
  if (options.foreground) return runForeground(ctx, count, shape);
  const queue = await ctx.open({ create: true });
  const { startBackgroundWorkers } = await import('../../worker/supervisor');
  const { pids, logPath } = await startBackgroundWorkers({ store: queue.store, location: ctx.location, count, ...shape });
  const each = shape.concurrency === 1 ? '' : `, ${shape.concurrency} jobs at once each`;
  printLine(`started ${pids.length} worker${pids.length === 1 ? '' : 's'}${each}: pid ${pids.join(' ')} (log: ${logPath})`);
}

function validateCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new UsageError(`--count: expected a whole number from 1 to 256, got ${count}`);
  }
}

/** N workers in this process, attached to the terminal. */
async function runForeground(ctx: CliContext, count: number, shape: WorkerShape): Promise<void> {
  const queue = await ctx.open({ durability: 'normal', create: true, poolSize: WORKER_POOL_SIZE });
  const workers = Array.from({ length: count }, () => new Worker({ store: queue.store, ...shape }));
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) process.stderr.write('queuectl: stopping after the running jobs finish (Ctrl+C again to kill them and put them back)\n');
    else process.stderr.write('queuectl: killing running jobs; they go back to pending\n');
    for (const worker of workers) void worker.stop(signals === 1 ? 'graceful' : 'kill');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const each = shape.concurrency === 1 ? '' : `, ${shape.concurrency} jobs at once each`;
  process.stderr.write(`queuectl: ${count} worker(s) running in the foreground on ${queue.store.location}${each}\n`);
  const forget = recordLocalWorker(queue.store.location);
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    forget();
  }
}
