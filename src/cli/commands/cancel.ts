import { parseSignal } from '../../queue';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export async function run(ctx: CliContext, ids: string[], options: { signal: string; json?: boolean }): Promise<void> {
  const signal = parseSignal(options.signal);
  const queue = await ctx.open();
  const results = await queue.cancel(ids, signal);
  if (options.json) return printJson(results);
  for (const result of results) {
    const what = result.action === 'cancelled' ? 'cancelled' : result.action === 'signalled' ? `running: its worker sends ${signal}` : `already ${result.state}; unchanged`;
    printLine(`${result.id}  ${what}`);
  }
}
