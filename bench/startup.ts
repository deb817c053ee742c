import { benchEnv, CLI_BIN, median, type Cleanup } from './harness';
import { startProbe } from './probe';
import { createTarget } from './targets';

/**
 * CLI start-up: median wall time of whole `queuectl` processes next to a bare `node -e 0`, in the same rounds, each
 * started and timed by a small bare Node process (see probe.ts).
 */
export interface StartupResult {
  runs: number;
  nodeMs: number;
  enqueueMs: number;
  statusMs: number;
  enqueueRatio: number;
  statusRatio: number;
  samples: { node: number[]; enqueue: number[]; status: number[] };
}

/**
 * Each round runs the three commands back to back, so load from other processes on the machine falls on all three
 * alike; a first untimed round warms the page cache and creates (migrates) the SQLite file.
 */
export async function measureStartup(params: { runs: number; cleanup: Cleanup }): Promise<StartupResult> {
  const target = createTarget('sqlite', 'startup', params.cleanup);
  const bare = benchEnv();
  const probe = startProbe(params.cleanup);
  const commands: Record<'node' | 'enqueue' | 'status', () => Promise<number>> = {
    node: () => probe.time(process.execPath, ['-e', '0'], bare),
    enqueue: () => probe.time(process.execPath, [CLI_BIN, 'enqueue', '{"command":"true"}'], target.env),
    status: () => probe.time(process.execPath, [CLI_BIN, 'status'], target.env),
  };
  const samples = { node: [] as number[], enqueue: [] as number[], status: [] as number[] };
  for (let round = -1; round < params.runs; round++) {
    for (const name of ['node', 'enqueue', 'status'] as const) {
      const ms = await commands[name]();
      if (round >= 0) samples[name].push(ms);
    }
  }
  const nodeMs = median(samples.node);
  const enqueueMs = median(samples.enqueue);
  const statusMs = median(samples.status);
  return { runs: params.runs, nodeMs, enqueueMs, statusMs, enqueueRatio: enqueueMs / nodeMs, statusRatio: statusMs / nodeMs, samples };
}
