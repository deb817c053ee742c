import { UsageError } from '../../core/errors';
import { recordLocalWorker } from '../../worker/local-workers';
import { Worker } from '../../worker/worker';
import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, options: { count?: number; foreground?: boolean }): Promise<void> {
  // Without --count, the `worker-count` config (default 1): read from the store, which this command creates anyway.
  const durability = options.foreground ? 'normal' : undefined;
  const count = options.count ?? (await (await ctx.open({ create: true, durability })).config())['worker-count'];
  return start(ctx, { count, foreground: options.foreground });
}

async function start(ctx: CliContext, options: { count: number; foreground?: boolean }): Promise<void> {
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 256) {
    throw new UsageError(`--count: expected a whole number from 1 to 256, got ${options.count}`);
  }
  if (options.foreground) return runForeground(ctx, options.count);
  const queue = await ctx.open({ create: true });
  const { startBackgroundWorkers } = await import('../../worker/supervisor');
  const { pids, logPath } = await startBackgroundWorkers({ store: queue.store, location: ctx.location, count: options.count });
  printLine(`started ${pids.length} worker${pids.length === 1 ? '' : 's'}: pid ${pids.join(' ')} (log: ${logPath})`);
}

/** N workers in this process, attached to the terminal. */
async function runForeground(ctx: CliContext, count: number): Promise<void> {
  const queue = await ctx.open({ durability: 'normal', create: true });
  const workers = Array.from({ length: count }, () => new Worker({ store: queue.store }));
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) process.stderr.write('queuectl: stopping after the running jobs finish (Ctrl+C again to kill them and put them back)\n');
    else process.stderr.write('queuectl: killing running jobs; they go back to pending\n');
    for (const worker of workers) void worker.stop(signals === 1 ? 'graceful' : 'kill');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stderr.write(`queuectl: ${count} worker(s) running in the foreground on ${queue.store.location}\n`);
  const forget = recordLocalWorker(queue.store.location);
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    forget();
  }
}
