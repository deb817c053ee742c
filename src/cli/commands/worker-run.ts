import { Worker } from '../../worker/worker';
import type { CliContext } from '../context';

/** One worker in this process until it is asked to stop: SIGTERM/SIGINT stop gracefully, a second one forces. */
export async function run(ctx: CliContext): Promise<void> {
  const queue = await ctx.open({ durability: 'normal' });
  const worker = new Worker({ store: queue.store });
  let signals = 0;
  const onSignal = () => void worker.stop(++signals === 1 ? 'graceful' : 'kill');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.stderr.write(`${new Date().toISOString()} ${worker.id} started (pid ${process.pid}, store ${queue.store.location})\n`);
  await worker.run();
  process.stderr.write(`${new Date().toISOString()} ${worker.id} stopped\n`);
}
