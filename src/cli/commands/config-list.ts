import type { CliContext } from '../context';
import { printJson, printTable } from '../output';

export async function run(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const queue = await ctx.open();
  const entries = await queue.configList();
  if (options.json) return printJson(Object.fromEntries(entries.map((e) => [e.key, e.value])));
  printTable(['key', 'value', 'source', 'description'], entries.map((e) => [e.key, e.value, e.source, e.description]));
}
