import { UsageError } from '../../core/errors';
import { parseQueueConcurrency, parseRate, validateQueueName, type RateLimit } from '../../core/queue-settings';
import { queueToJson } from '../../core/serialize';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';
import { describeQueueSettings } from '../queue-description';

interface QueueSetOptions {
  concurrency?: string;
  rate?: string;
  json?: boolean;
}

/** `unset` lifts a setting, as `config unset` does for a key. */
const UNSET = 'unset';

/** `queue set NAME --concurrency N --rate 10/s`: validated whole before the store opens. */
export async function run(ctx: CliContext, name: string, options: QueueSetOptions): Promise<void> {
  validateQueueName(name);
  if (options.concurrency === undefined && options.rate === undefined) {
    throw new UsageError(`queue set: give --concurrency N or --rate N/s|m|h (or 'unset' to lift one), e.g. queuectl queue set ${name} --concurrency 3`);
  }
  const concurrency = options.concurrency === undefined ? undefined : options.concurrency.trim() === UNSET ? null : parseQueueConcurrency(options.concurrency);
  const rate: RateLimit | null | undefined = options.rate === undefined ? undefined : options.rate.trim() === UNSET ? null : parseRate(options.rate);
  const queue = await ctx.open({ create: true });
  const record = await queue.setQueue(name, { concurrency, rate });
  if (options.json) return printJson(queueToJson(record));
  printLine(`queue ${record.name}: ${describeQueueSettings(record)}`);
}
