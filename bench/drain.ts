import { join } from 'node:path';
import type { Attempt } from '../src/core/job';
import { median, progress, runCli, sleep, type Cleanup } from './harness';
import { existsSync, writeFileSync } from 'node:fs';
import { workerSpawnEngine, type SpawnEngine } from '../src/worker/spawn';
import { ADDON_PATH, measureSpawnCeiling, type CeilingResult } from './spawn-ceiling';
import { createTarget, startWorkers, workerLogTail, type Backend } from './targets';

const CONCURRENCY = 4;

export interface DrainResult {
  jobs: number;
  workers: number;
  /** First attempt start to last attempt finish, by the store's timestamps. */
  drainMs: number;
  jobsPerSecond: number;
  /**
   * Spawn ceilings in jobs/s, each the mean of a run just before the workers started and one just after they
   * stopped: `oneProcess` (1 process, 4 in flight) and `fourProcesses` (4 × 1). The ratio is to the higher one.
   */
  ceiling: { oneProcess: number; fourProcesses: number; baseline: number; runs: { shape: string; perSecond: number }[] };
  ratioToCeiling: number;
  /** How the workers started their jobs (from their processes; QUEUECTL_SPAWN=child_process forces the fallback). */
  engine: SpawnEngine | 'unknown';
  /**
   * The addon's own loop, 1 process × 4 in flight, no queue (mean of a run before and one after the drain), and the
   * drain's share of it; null without a built addon.
   */
  nativeCeiling: { perSecond: number; cpuMsPerRun: number; ratio: number } | null;
  perWorker: { min: number; max: number; counts: number[] };
  /**
   * Where a worker's time goes, medians over all jobs: `inJobMs` from claim to the start of the finish write
   * (spawn, pid record, exit, pipes closed); `betweenJobsMs` from that write to the worker's next claim.
   */
  perJob: { inJobMs: number; betweenJobsMs: number; meanInJobMs: number; meanBetweenJobsMs: number };
  /** From the first claim until the last of the 4 workers made its first claim (they wake as the jobs arrive). */
  rampMs: number;
  /**
   * CPU time per job: the worker processes' own from the enqueue to the drained queue (not the jobs'), next to the
   * spawn loops' own per run from their start. On a saturated machine every CPU millisecond costs several of wall
   * time, so this is the overhead to cut.
   */
  cpuMsPerJob: { workers: number | null; ceilingLoops: number };
}

/**
 * Drain rate: `worker start --count 4`, then `jobs` × `true` bulk-enqueued at once; the clock runs from the first
 * attempt's start to the last one's end. The workers are up and idle before the jobs arrive, as the spawn loops are
 * loaded before they start: neither figure includes its processes' start-up (measured on its own), which used to
 * overlap the first tenth of a 2-second drain. The ceiling is measured around the drain in the same run, never
 * overlapping it.
 */
export async function measureDrain(params: { backend: Backend; jobs: number; cleanup: Cleanup }): Promise<DrainResult> {
  const { backend, jobs, cleanup } = params;
  const target = createTarget(backend, 'drain', cleanup);
  const file = join(target.dir, 'jobs.jsonl');
  writeFileSync(file, Array.from({ length: jobs }, () => '{"command":"true"}\n').join(''));
  const store = await target.open();

  progress(`drain/${backend}: spawn ceilings (before)`);
  const ceilingRuns = [await measureSpawnCeiling(jobs, CONCURRENCY, 1, target.dir), await measureSpawnCeiling(jobs, CONCURRENCY, CONCURRENCY, target.dir)];
  const native = existsSync(ADDON_PATH);
  const nativeRuns: CeilingResult[] = native ? [await measureSpawnCeiling(jobs, CONCURRENCY, 1, target.dir, 'posix_spawn')] : [];
  progress(`drain/${backend}: ${jobs} jobs, ${CONCURRENCY} workers`);
  const workers = await startWorkers(target, CONCURRENCY, cleanup);
  // Counted from here: what the workers used while starting is theirs, not the drain's.
  const cpuBefore = workers.cpuMs();
  await runCli(target.env, ['enqueue', '--file', file]);
  const timeoutMs = 60_000 + jobs * 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { counts } = await store.countJobs();
    if (counts.completed === jobs) break;
    if (counts.dead > 0 || Date.now() > deadline) {
      throw new Error(`drain/${backend}: not drained (${JSON.stringify(counts)}) within ${timeoutMs / 1000}s; worker log:\n${workerLogTail(target)}`);
    }
    await sleep(100);
  }
  const cpu = workers.cpuMs().map((ms, i) => (ms === null || cpuBefore[i] === null ? null : ms - cpuBefore[i]!));
  const engines = new Set(workers.pids.map(workerSpawnEngine));
  const engine = engines.size === 1 ? ([...engines][0] ?? 'unknown') : 'unknown';
  await workers.stop();
  progress(`drain/${backend}: spawn ceilings (after)`);
  // In reverse order, so drift in the machine's load during the run weighs on both shapes alike.
  if (native) nativeRuns.push(await measureSpawnCeiling(jobs, CONCURRENCY, 1, target.dir, 'posix_spawn'));
  ceilingRuns.push(await measureSpawnCeiling(jobs, CONCURRENCY, CONCURRENCY, target.dir), await measureSpawnCeiling(jobs, CONCURRENCY, 1, target.dir));

  const attempts: Attempt[] = [];
  for (const job of await store.listJobs({ limit: jobs })) attempts.push(...(await store.listAttempts({ jobId: job.id })));
  if (attempts.length !== jobs) throw new Error(`drain/${backend}: expected ${jobs} attempts, found ${attempts.length}`);
  const firstStart = Math.min(...attempts.map((a) => a.startedAt));
  const lastFinish = Math.max(...attempts.map((a) => a.finishedAt ?? 0));
  const drainMs = lastFinish - firstStart;
  const jobsPerSecond = jobs / (drainMs / 1000);
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
  const meanOf = (processes: number) => {
    const runs = ceilingRuns.filter((c) => c.processes === processes);
    return runs.reduce((sum, c) => sum + c.perSecond, 0) / runs.length;
  };
  const oneProcess = meanOf(1);
  const fourProcesses = meanOf(CONCURRENCY);
  const baseline = Math.max(oneProcess, fourProcesses);

  const byWorker = new Map<string, Attempt[]>();
  for (const a of attempts) byWorker.set(a.workerId, [...(byWorker.get(a.workerId) ?? []), a]);
  const counts = [...byWorker.values()].map((list) => list.length).sort((a, b) => a - b);
  while (counts.length < CONCURRENCY) counts.unshift(0);
  const inJob: number[] = [];
  const between: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    list.forEach((a, i) => {
      inJob.push((a.finishedAt ?? a.startedAt) - a.startedAt);
      const next = list[i + 1];
      if (next) between.push(next.startedAt - (a.finishedAt ?? a.startedAt));
    });
  }
  return {
    jobs,
    workers: CONCURRENCY,
    drainMs,
    jobsPerSecond,
    ceiling: { oneProcess, fourProcesses, baseline, runs: ceilingRuns.map((c) => ({ shape: `${c.processes} process(es)`, perSecond: c.perSecond })) },
    ratioToCeiling: jobsPerSecond / baseline,
    engine,
    nativeCeiling: native
      ? { perSecond: mean(nativeRuns.map((c) => c.perSecond)), cpuMsPerRun: mean(nativeRuns.map((c) => c.cpuMsPerRun)), ratio: jobsPerSecond / mean(nativeRuns.map((c) => c.perSecond)) }
      : null,
    perWorker: { min: counts[0]!, max: counts[counts.length - 1]!, counts },
    perJob: { inJobMs: median(inJob), betweenJobsMs: median(between), meanInJobMs: mean(inJob), meanBetweenJobsMs: mean(between) },
    cpuMsPerJob: {
      workers: cpu.every((ms) => ms !== null) ? cpu.reduce((sum: number, ms) => sum + ms!, 0) / jobs : null,
      ceilingLoops: mean(ceilingRuns.filter((c) => c.processes === CONCURRENCY).map((c) => c.cpuMsPerRun)),
    },
    rampMs: Math.max(...[...byWorker.values()].map((list) => list[0]!.startedAt)) - firstStart,
  };
}
