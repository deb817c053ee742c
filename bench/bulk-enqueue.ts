import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, runCli, type Cleanup } from './harness';
import { createTarget, type Backend } from './targets';

export interface BulkEnqueueResult {
  jobs: number;
  /** Median wall time of the whole `queuectl enqueue --file` process, Node start-up included. */
  ms: number;
  jobsPerSecond: number;
  /** Every sample's wall time, in ms, in the order taken. */
  samplesMs: number[];
}

/**
 * Bulk enqueue: one `enqueue --file` of `jobs` lines into an empty store, timed from spawn to exit; the median of
 * `samples` runs, each into a fresh store (one run alone swings by a fifth on a busy machine).
 */
export async function measureBulkEnqueue(params: { backend: Backend; jobs: number; samples: number; cleanup: Cleanup }): Promise<BulkEnqueueResult> {
  const samplesMs: number[] = [];
  for (let i = 0; i < params.samples; i++) {
    const target = createTarget(params.backend, `bulk${i}`, params.cleanup);
    // Create (migrate) the store first, so the timed run measures the enqueue and not the schema set-up.
    await runCli(target.env, ['init']);
    const file = join(target.dir, 'jobs.jsonl');
    writeFileSync(file, Array.from({ length: params.jobs }, () => '{"command":"true"}\n').join(''));
    const { ms, stdout } = await runCli(target.env, ['enqueue', '--file', file]);
    if (!stdout.includes(`enqueued ${params.jobs} jobs`)) throw new Error(`bulk/${params.backend}: unexpected output '${stdout.trim()}'`);
    samplesMs.push(ms);
  }
  const ms = median(samplesMs);
  return { jobs: params.jobs, ms, jobsPerSecond: params.jobs / (ms / 1000), samplesMs };
}
