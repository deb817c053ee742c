import { normalizeConfigKey, validateConfigValue } from '../../core/config';
import type { CliContext } from '../context';
import { printLine } from '../output';

export async function run(ctx: CliContext, key: string, value: string): Promise<void> {
  const name = normalizeConfigKey(key);
  validateConfigValue(name, value);
  const queue = await ctx.open({ create: true });
  const saved = await queue.configSet(name, value);
  printLine(`${saved.key} = ${saved.value}`);
}
