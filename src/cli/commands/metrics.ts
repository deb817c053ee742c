import type { CliContext } from '../context';

/** Prints the Prometheus text that the dashboard's /metrics serves, e.g. for node_exporter's textfile collector. */
export async function run(ctx: CliContext): Promise<void> {
  const queue = await ctx.open();
  process.stdout.write(await queue.metrics());
}
