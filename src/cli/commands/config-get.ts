import { normalizeConfigKey } from '../../core/config';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export async function run(ctx: CliContext, key: string, options: { json?: boolean }): Promise<void> {
  const name = normalizeConfigKey(key);
  const queue = await ctx.open();
  const value = await queue.configGet(name);
  if (options.json) printJson({ key: name, value });
  else printLine(value);
}
