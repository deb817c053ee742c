import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJobSpec } from '../src/core/job-spec';
import { percentile, progress, sleep, waitUntil, type Cleanup } from './harness';
import { startProbe } from './probe';
import { createTarget, startWorkers, workerLogTail, type Backend } from './targets';

export interface PickupResult {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** The same latency split at the claim: enqueue returned -> attempt recorded, and attempt recorded -> process ran. */
  claim: { p50Ms: number; p95Ms: number };
  spawn: { p50Ms: number; p95Ms: number };
  /**
   * The floor, taken between the samples: a bare Node process spawns the same command the way the runner does and
   * it is timed the same way. Pickup latency minus this is what the queue adds.
   */
  spawnAlone: { p50Ms: number; p95Ms: number };
  latenciesMs: number[];
}

/**
 * Pickup latency with one idle worker (`worker start --count 1`). Each sample enqueues one job through the Store API
 * in this process (the same call `queuectl enqueue` makes, commit and wake-up included) and notes the wall clock the
 * moment it returned; the job's command writes `date +%s%N` as its first act. Latency = that timestamp minus the
 * moment enqueue returned. The next job is enqueued only after the previous one completed and a random pause, so the
 * worker is idle, and each sample lands at another point of its heartbeat cycle. After each sample a bare Node
 * process spawns the same command, giving the spawn floor under the same load.
 */
export async function measurePickup(params: { backend: Backend; samples: number; cleanup: Cleanup }): Promise<PickupResult> {
  const { backend, cleanup } = params;
  const target = createTarget(backend, 'pickup', cleanup);
  // Full durability, like the CLI: enqueue returns only after its commit is on disk.
  const store = await target.open({ durability: 'full' });
  const probe = startProbe(cleanup);
  await startWorkers(target, 1, cleanup);
  await sleep(300);
  const latencies: number[] = [];
  const claims: number[] = [];
  const spawns: number[] = [];
  const alone: number[] = [];
  for (let i = -1; i < params.samples; i++) {
    await sleep(50 + Math.random() * 150);
    const stampFile = join(target.dir, `start-${i + 1}`);
    const { job } = parseJobSpec({ command: `date +%s%N > ${stampFile}` }, target.dir);
    await store.enqueue({ jobs: [job], ifNotExists: false });
    const returnedAt = Date.now();
    await waitUntil(`job ${job.id} to start (${backend}); worker log:\n${workerLogTail(target)}`, () => existsSync(stampFile) && readFileSync(stampFile, 'utf8').endsWith('\n'), 2);
    const startedAt = Number(readFileSync(stampFile, 'utf8').trim()) / 1e6;
    await waitUntil(`job ${job.id} to complete (${backend})`, async () => (await store.getJob({ id: job.id }))?.state === 'completed', 10);
    if (i < 0) continue; // the first job only shows the worker is warm
    const claimedAt = (await store.listAttempts({ jobId: job.id }))[0]!.startedAt;
    const floorFile = join(target.dir, `floor-${i + 1}`);
    const before = await probe.floor(`date +%s%N > ${floorFile}`);
    alone.push(Number(readFileSync(floorFile, 'utf8').trim()) / 1e6 - before);
    latencies.push(startedAt - returnedAt);
    claims.push(claimedAt - returnedAt);
    spawns.push(startedAt - claimedAt);
    if ((i + 1) % 10 === 0) progress(`pickup/${backend}: ${i + 1}/${params.samples}`);
  }
  return {
    samples: latencies.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: Math.max(...latencies),
    claim: { p50Ms: percentile(claims, 50), p95Ms: percentile(claims, 95) },
    spawn: { p50Ms: percentile(spawns, 50), p95Ms: percentile(spawns, 95) },
    spawnAlone: { p50Ms: percentile(alone, 50), p95Ms: percentile(alone, 95) },
    latenciesMs: latencies,
  };
}
