import { parseSecondsMs } from '../../core/duration';
import { workerStaleAfterMs } from '../../core/worker-liveness';
import { stopWorkers } from '../../worker/supervisor';
import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, options: { wait: boolean; timeout?: string; host?: string }): Promise<number> {
  const timeoutMs = options.timeout === undefined ? null : parseSecondsMs(options.timeout, '--timeout');
  const queue = await ctx.open();
  const config = await queue.config();
  const outcome = await stopWorkers({ store: queue.store, host: options.host, wait: options.wait, timeoutMs, staleAfterMs: workerStaleAfterMs(config['lease-timeout'] * 1000) });
  if (outcome.asked === 0) {
    printLine(`no workers running${options.host ? ` on ${options.host}` : ''}`);
    return 0;
  }
  if (!options.wait) {
    printLine(`asked ${outcome.asked} worker(s) to stop`);
    return 0;
  }
  if (outcome.remaining.length > 0) {
    process.stderr.write(`queuectl: ${outcome.remaining.length} worker(s) did not stop: ${outcome.remaining.map((w) => `${w.id} (pid ${w.pid} on ${w.host})`).join(', ')}\n`);
    return 1;
  }
  printLine(`stopped ${outcome.asked} worker(s)${outcome.forced ? ' (running jobs were killed and put back to pending)' : ''}`);
  return 0;
}
