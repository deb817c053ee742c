import { normalizeConfigKey } from '../../core/config';
import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, key: string): Promise<void> {
  const name = normalizeConfigKey(key);
  const queue = await ctx.open();
  const removed = await queue.configUnset(name);
  printLine(removed ? `${name} reset to its default` : `${name} was not set; it keeps its default`);
}
