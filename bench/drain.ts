import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Attempt } from '../src/core/job';
import { Cleanup, median, progress, runCli, sleep } from './harness';
import { existsSync, writeFileSync } from 'node:fs';
import { workerSpawnEngine, type SpawnEngine } from '../src/worker/spawn';
import { measurePgBossDrain, type PeerResult } from './peer-pg-boss';
import { ADDON_PATH, addonHasSpawnAsync, measureSpawnCeiling, type CeilingResult } from './spawn-ceiling';
import { createTarget, processesCpuMs, startWorkers, workerBackends, workerLogTail, type Backend } from './targets';

/** Jobs in flight in every shape, and in the spawn loops. */
const IN_FLIGHT = 4;

/** How the 4 in flight are spread: `worker start --count COUNT --concurrency CONCURRENCY`. */
export interface DrainShape {
  count: number;
  concurrency: number;
}

/** Issue 10's two shapes: four one-slot workers (as before slots existed) and one worker with four slots. */
export const DRAIN_SHAPES: readonly DrainShape[] = [
  { count: 4, concurrency: 1 },
  { count: 1, concurrency: 4 },
];

export const shapeName = (shape: DrainShape) => `--count ${shape.count} --concurrency ${shape.concurrency}`;

/** One shape's drain: medians over the rounds (each round's ratio is to that round's own ceilings). */
export interface ShapeDrain {
  shape: DrainShape;
  /** First attempt start to last attempt finish, by the store's timestamps (median). */
  drainMs: number;
  jobsPerSecond: number;
  /** Every round's rate, in round order. */
  roundsPerSecond: number[];
  /**
   * The rate as a share of ceilings of the same round, median over rounds: `oneProcess`, the child_process loop with
   * 1 process × 4 in flight (issue 10's baseline); `native`, the addon's posix_spawn loop, 1 process × 4, no queue
   * (issue 14's native ceiling; null without the addon); `threaded`, the addon's loop starting each child on the
   * threadpool as the workers do (null without it); `best`, the higher child_process shape (issue 14's); `peer`,
   * pg-boss's drain (null without PostgreSQL).
   */
  ratio: { oneProcess: number; native: number | null; threaded: number | null; best: number; peer: number | null };
  /** Every round's share of the posix_spawn loop (else of the child_process 1 × 4 loop), in round order. */
  roundsRatio: number[];
  /** Jobs per worker process (from the attempts' worker_id), ascending, in the last round. */
  perWorker: { min: number; max: number; counts: number[] };
  /**
   * Median over rounds of: `inJobMs`, the median claim → finish write of a job (spawn, exit, output read, the report's
   * round trip: a finish and the slot's next claim are one write); `meanInJobMs`, its mean; `idleSlotMs`, per job,
   * slot-time not covered by any attempt (slots × drain − every attempt's time, / jobs): slots left empty.
   */
  perJob: { inJobMs: number; meanInJobMs: number; idleSlotMs: number };
  /** From the first claim until the last worker made its first claim (they wake as the jobs arrive); 0 for one worker. */
  rampMs: number;
  /**
   * CPU time per job of the worker processes (not the jobs', not the server's), from the enqueue to the drained queue
   * (median). On a saturated machine every CPU millisecond costs several of wall time, so this is the overhead to cut.
   */
  cpuMsPerJob: number | null;
  /**
   * PostgreSQL: CPU time per job of the server processes serving the workers' statements (median; null for SQLite,
   * whose work is in the workers' own figure), and how many were found in the last round.
   */
  serverCpuMsPerJob: number | null;
  serverProcesses: number;
}

export interface DrainResult {
  jobs: number;
  rounds: number;
  /** How the workers started their jobs (from their processes; QUEUECTL_SPAWN=child_process forces the fallback). */
  engine: SpawnEngine | 'unknown';
  /**
   * Spawn ceilings in jobs/s, medians over the rounds: child_process `oneProcess` (1 process, 4 in flight) and
   * `fourProcesses` (4 × 1), `baseline` the higher of the two.
   */
  ceiling: { oneProcess: number; fourProcesses: number; baseline: number; cpuMsPerRun: number; runs: { shape: string; perSecond: number }[] };
  /** The addon's own loop, 1 process × 4 in flight, no queue (median over rounds); null without the addon. */
  nativeCeiling: { perSecond: number; cpuMsPerRun: number; runs: number[] } | null;
  /** The same loop with spawnAsync (each start on the threadpool, as workers start jobs); null without it. */
  threadedCeiling: { perSecond: number; cpuMsPerRun: number; runs: number[] } | null;
  /**
   * Issue 14's Node peer in the same rounds: pg-boss, 4 `work()` loops with a batch of 100 each, 4 in flight (median
   * over rounds; null without PostgreSQL). One `work()` running its batch of 100 four at a time is bound by pg-boss's
   * polling interval (a fetch at most every 0.5 s: 208 jobs/s measured), so the faster shape is the one measured.
   */
  peer: { name: string; perSecond: number; cpuMsPerRun: number; runs: number[] } | null;
  /** Each shape of DRAIN_SHAPES, in that order. */
  shapes: ShapeDrain[];
  /** The 1-minute load average at the start of each round (the machine is shared). */
  loadAverages: number[];
}

/**
 * Drain rate in each worker shape, side by side with the spawn ceilings: `rounds` rounds, each running the ceiling
 * loops and then every shape (the order of both turned round in every other round, so drift in the machine's load
 * weighs on all alike). A shape's drain: the workers start, and once idle `jobs` × `true` arrive in one `enqueue
 * --file`; the clock runs from the first attempt's start to the last one's end, so neither the workers' nor the
 * loops' start-up counts (measured on its own). Each drain has a fresh store. Each round's ratios are to that round's
 * ceilings; the figures are medians over the rounds.
 */
export async function measureDrain(params: {
  backend: Backend;
  jobs: number;
  rounds: number;
  cleanup: Cleanup;
  shapes?: readonly DrainShape[];
  /** The server pg-boss (the peer) drains on; null: no peer. */
  peerPgUrl?: string | null;
}): Promise<DrainResult> {
  const { backend, jobs, rounds, cleanup } = params;
  const peerPgUrl = params.peerPgUrl ?? null;
  const shapes = params.shapes ?? DRAIN_SHAPES;
  // Only its temp directory is used (the loops' counter files and the jobs file).
  const dir = createTarget('sqlite', 'drain-ceiling', cleanup).dir;
  const file = join(dir, 'jobs.jsonl');
  writeFileSync(file, Array.from({ length: jobs }, () => '{"command":"true"}\n').join(''));
  const native = existsSync(ADDON_PATH);
  const threaded = native && addonHasSpawnAsync();

  const perRound: { ceilings: CeilingResult[]; peer: PeerResult | null; drains: Map<DrainShape, DrainOnce> }[] = [];
  const loadAverages: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const turned = round % 2 === 1;
    loadAverages.push(loadavg()[0]!);
    progress(`drain/${backend}: round ${round + 1} of ${rounds} (load ${loadavg()[0]!.toFixed(1)}): spawn ceilings`);
    const loops: (() => Promise<CeilingResult>)[] = [
      () => measureSpawnCeiling(jobs, IN_FLIGHT, 1, dir),
      () => measureSpawnCeiling(jobs, IN_FLIGHT, IN_FLIGHT, dir),
      ...(native ? [() => measureSpawnCeiling(jobs, IN_FLIGHT, 1, dir, 'posix_spawn')] : []),
      ...(threaded ? [() => measureSpawnCeiling(jobs, IN_FLIGHT, 1, dir, 'posix_spawn_async')] : []),
    ];
    if (turned) loops.reverse();
    const ceilings: CeilingResult[] = [];
    let peer: PeerResult | null = null;
    const measurePeer = async () => {
      if (peerPgUrl === null) return;
      progress(`drain/${backend}: round ${round + 1}: pg-boss, 4 work() x batch 100`);
      peer = await measurePgBossDrain(peerPgUrl, jobs, IN_FLIGHT, IN_FLIGHT);
    };
    if (turned) await measurePeer();
    for (const loop of loops) ceilings.push(await loop());
    if (!turned) await measurePeer();
    const drains = new Map<DrainShape, DrainOnce>();
    for (const shape of turned ? [...shapes].reverse() : shapes) drains.set(shape, await drainOnce({ backend, jobs, file, shape, cleanup }));
    perRound.push({ ceilings, peer, drains });
  }

  const of = (ceilings: CeilingResult[], engine: CeilingResult['engine'], processes: number) =>
    ceilings.find((c) => c.engine === engine && c.processes === processes);
  const roundCeilings = perRound.map(({ ceilings }) => {
    const oneProcess = of(ceilings, 'child_process', 1)!;
    const fourProcesses = of(ceilings, 'child_process', IN_FLIGHT)!;
    return {
      oneProcess, fourProcesses, best: Math.max(oneProcess.perSecond, fourProcesses.perSecond),
      native: of(ceilings, 'posix_spawn', 1) ?? null, threaded: of(ceilings, 'posix_spawn_async', 1) ?? null,
    };
  });
  const oneProcess = median(roundCeilings.map((c) => c.oneProcess.perSecond));
  const fourProcesses = median(roundCeilings.map((c) => c.fourProcesses.perSecond));
  const engines = new Set(perRound.flatMap(({ drains }) => [...drains.values()].map((d) => d.engine)));
  return {
    jobs,
    rounds,
    engine: engines.size === 1 ? [...engines][0]! : 'unknown',
    ceiling: {
      oneProcess, fourProcesses, baseline: median(roundCeilings.map((c) => c.best)),
      cpuMsPerRun: median(roundCeilings.map((c) => c.oneProcess.cpuMsPerRun)),
      runs: roundCeilings.flatMap((c) => [c.oneProcess, c.fourProcesses]).map((c) => ({ shape: `${c.processes} process(es)`, perSecond: c.perSecond })),
    },
    nativeCeiling: native
      ? { perSecond: median(roundCeilings.map((c) => c.native!.perSecond)), cpuMsPerRun: median(roundCeilings.map((c) => c.native!.cpuMsPerRun)), runs: roundCeilings.map((c) => c.native!.perSecond) }
      : null,
    peer: peerPgUrl === null
      ? null
      : {
          name: 'pg-boss 10 (4 work() × batch 100)',
          perSecond: median(perRound.map((r) => r.peer!.perSecond)),
          cpuMsPerRun: median(perRound.map((r) => r.peer!.cpuMsPerRun)),
          runs: perRound.map((r) => r.peer!.perSecond),
        },
    threadedCeiling: threaded
      ? { perSecond: median(roundCeilings.map((c) => c.threaded!.perSecond)), cpuMsPerRun: median(roundCeilings.map((c) => c.threaded!.cpuMsPerRun)), runs: roundCeilings.map((c) => c.threaded!.perSecond) }
      : null,
    shapes: shapes.map((shape) => {
      const drains = perRound.map(({ drains }) => drains.get(shape)!.figures);
      const rate = (i: number) => drains[i]!.jobsPerSecond;
      const nativeRatios = native ? roundCeilings.map((c, i) => rate(i) / c.native!.perSecond) : null;
      const threadedRatios = threaded ? roundCeilings.map((c, i) => rate(i) / c.threaded!.perSecond) : null;
      const oneProcessRatios = roundCeilings.map((c, i) => rate(i) / c.oneProcess.perSecond);
      const pick = (f: (d: DrainFigures) => number) => median(drains.map(f));
      const cpu = drains.map((d) => d.cpuMsPerJob);
      return {
        shape,
        drainMs: pick((d) => d.drainMs),
        jobsPerSecond: pick((d) => d.jobsPerSecond),
        roundsPerSecond: drains.map((d) => d.jobsPerSecond),
        ratio: {
          oneProcess: median(oneProcessRatios), native: nativeRatios === null ? null : median(nativeRatios),
          threaded: threadedRatios === null ? null : median(threadedRatios), best: median(roundCeilings.map((c, i) => rate(i) / c.best)),
          peer: peerPgUrl === null ? null : median(perRound.map((r, i) => rate(i) / r.peer!.perSecond)),
        },
        roundsRatio: nativeRatios ?? oneProcessRatios,
        perWorker: drains[drains.length - 1]!.perWorker,
        perJob: { inJobMs: pick((d) => d.perJob.inJobMs), meanInJobMs: pick((d) => d.perJob.meanInJobMs), idleSlotMs: pick((d) => d.perJob.idleSlotMs) },
        rampMs: pick((d) => d.rampMs),
        cpuMsPerJob: cpu.every((ms) => ms !== null) ? median(cpu as number[]) : null,
        serverCpuMsPerJob: drains.every((d) => d.serverCpuMsPerJob !== null) ? median(drains.map((d) => d.serverCpuMsPerJob!)) : null,
        serverProcesses: drains[drains.length - 1]!.serverProcesses,
      };
    }),
    loadAverages,
  };
}

type DrainOnce = Awaited<ReturnType<typeof drainInto>>;
type DrainFigures = DrainOnce['figures'];

/** One shape's drain into a fresh store. */
export async function drainOnce(params: { backend: Backend; jobs: number; file: string; shape: DrainShape; cleanup: Cleanup }) {
  const { backend, jobs, file, shape } = params;
  // Its own cleanup, run when it is done (stores closed, schema dropped), and by the measurement's on an interruption.
  const cleanup = new Cleanup();
  params.cleanup.defer('clean up a drain', () => cleanup.runAll(progress));
  try {
    return await drainInto({ backend, jobs, file, shape, cleanup });
  } finally {
    await cleanup.runAll(progress);
  }
}

async function drainInto(params: { backend: Backend; jobs: number; file: string; shape: DrainShape; cleanup: Cleanup }) {
  const { backend, jobs, file, shape, cleanup } = params;
  const target = createTarget(backend, 'drain', cleanup);
  const store = await target.open();
  progress(`drain/${backend}: ${jobs} jobs, worker start ${shapeName(shape)}`);
  const workers = await startWorkers(target, shape.count, cleanup, { concurrency: shape.concurrency });
  // Counted from here: what the workers used while starting is theirs, not the drain's.
  const cpuBefore = workers.cpuMs();
  // One pooled connection per worker: found once each one's last statement named the schema (a heartbeat at the latest).
  const backends = new Set<number>();
  for (const deadline = Date.now() + 3000; backend === 'postgres' && backends.size < shape.count && Date.now() < deadline; await sleep(100)) {
    for (const pid of workerBackends(target)) backends.add(pid);
  }
  const serverCpuBefore = processesCpuMs([...backends]);
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
  const serverCpuAfter = processesCpuMs([...backends]);
  const serverCpu = backends.size === 0 || serverCpuBefore === null || serverCpuAfter === null ? null : serverCpuAfter - serverCpuBefore;
  const engines = new Set(workers.pids.map(workerSpawnEngine));
  const engine: SpawnEngine | 'unknown' = engines.size === 1 ? ([...engines][0] ?? 'unknown') : 'unknown';
  await workers.stop();

  const attempts: Attempt[] = [];
  for (const job of await store.listJobs({ limit: jobs })) attempts.push(...(await store.listAttempts({ jobId: job.id })));
  if (attempts.length !== jobs) throw new Error(`drain/${backend}: expected ${jobs} attempts, found ${attempts.length}`);
  const firstStart = Math.min(...attempts.map((a) => a.startedAt));
  const lastFinish = Math.max(...attempts.map((a) => a.finishedAt ?? 0));
  const drainMs = lastFinish - firstStart;
  const byWorker = new Map<string, Attempt[]>();
  for (const a of attempts) byWorker.set(a.workerId, [...(byWorker.get(a.workerId) ?? []), a]);
  const counts = [...byWorker.values()].map((list) => list.length).sort((a, b) => a - b);
  while (counts.length < shape.count) counts.unshift(0);
  const inJob = attempts.map((a) => (a.finishedAt ?? a.startedAt) - a.startedAt);
  const inJobTotal = inJob.reduce((sum, ms) => sum + ms, 0);
  const slots = shape.count * shape.concurrency;
  const figures = {
    drainMs,
    jobsPerSecond: jobs / (drainMs / 1000),
    perWorker: { min: counts[0]!, max: counts[counts.length - 1]!, counts },
    perJob: { inJobMs: median(inJob), meanInJobMs: inJobTotal / jobs, idleSlotMs: (slots * drainMs - inJobTotal) / jobs },
    rampMs: Math.max(...[...byWorker.values()].map((list) => Math.min(...list.map((a) => a.startedAt)))) - firstStart,
    cpuMsPerJob: cpu.every((ms) => ms !== null) ? cpu.reduce((sum: number, ms) => sum + ms!, 0) / jobs : null,
    serverCpuMsPerJob: serverCpu === null ? null : serverCpu / jobs,
    serverProcesses: backends.size,
  };
  return { engine, figures };
}
