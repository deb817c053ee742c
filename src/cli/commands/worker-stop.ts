import { resolve } from 'node:path';
import { parseSecondsMs } from '../../core/duration';
import { StoreCorruptError, StoreUnavailableError } from '../../core/errors';
import { workerStaleAfterMs } from '../../core/worker-liveness';
import { isPostgresUrl } from '../../store/open-store';
import { stopLocalWorkersByPid, stopWorkers } from '../../worker/supervisor';
import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, options: { wait: boolean; timeout?: string; host?: string }): Promise<number> {
  const timeoutMs = options.timeout === undefined ? null : parseSecondsMs(options.timeout, '--timeout');
  try {
    return await stopThroughStore(ctx, options, timeoutMs);
  } catch (err) {
    const unreadable = err instanceof StoreCorruptError || err instanceof StoreUnavailableError;
    if (!unreadable || isPostgresUrl(ctx.location) || options.host !== undefined) throw err;
    return stopByPid(resolve(ctx.location), err, options.wait, timeoutMs);
  }
}

async function stopThroughStore(ctx: CliContext, options: { wait: boolean; host?: string }, timeoutMs: number | null): Promise<number> {
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

/** The store cannot be read: this host's workers of it are stopped by signal, from the record beside the store. */
async function stopByPid(storePath: string, cause: Error, wait: boolean, timeoutMs: number | null): Promise<number> {
  const { asked, remaining } = await stopLocalWorkersByPid({ storePath, wait, timeoutMs });
  if (asked.length === 0) throw cause;
  // The cause's first clause names the file and the fault; its advice is what this command is now doing.
  process.stderr.write(`queuectl: ${cause.message.split(';')[0]}; stopping this host's ${asked.length} worker(s) by pid instead: ${asked.map((w) => w.pid).join(' ')}\n`);
  if (remaining.length > 0) {
    process.stderr.write(`queuectl: ${remaining.length} worker(s) did not stop: pid ${remaining.map((w) => w.pid).join(' ')}\n`);
    return 1;
  }
  printLine(wait ? `stopped ${asked.length} worker(s)` : `asked ${asked.length} worker(s) to stop`);
  return 0;
}
