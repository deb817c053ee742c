import type { BulkEnqueueResult } from './bulk-enqueue';
import type { DashboardScaleResult } from './dashboard-scale';
import { shapeName, type DrainResult, type ShapeDrain } from './drain';
import type { MemoryResult } from './memory';
import type { PickupResult } from './pickup';
import type { RecoveryResult } from './recovery';
import type { StartupResult } from './startup';
import type { StoreThroughputResult } from './store-throughput';
import type { Backend } from './targets';

/** A measurement's result, or why it could not be taken. */
export type Outcome<T> = T | { error: string };
export type PerBackend<T> = Partial<Record<Backend, Outcome<T>>>;

/** Everything one run measured; written as bench/results.json. */
export interface BenchResults {
  date: string;
  command: string;
  quick: boolean;
  machine: { cores: number; cpu: string; memoryGb: number; node: string; os: string };
  postgres: { url: string; used: boolean; reason: string | null };
  startup?: Outcome<StartupResult>;
  drain: PerBackend<DrainResult>;
  memory: PerBackend<MemoryResult>;
  bulk: PerBackend<BulkEnqueueResult>;
  pickup: PerBackend<PickupResult>;
  recovery?: Outcome<RecoveryResult>;
  store: PerBackend<StoreThroughputResult>;
  dashboard: PerBackend<DashboardScaleResult>;
}

/**
 * Targets from the issues: the core's for SQLite, the PostgreSQL store's for PostgreSQL (it sets none for bulk);
 * issue 14's for the drain beside the child_process ceiling, issue 10's for the worker shapes and memory.
 */
export const TARGETS = {
  startupRatio: 2,
  recoveryMs: 5000,
  /** Issue 10: one worker with 100 slots in use, the worker process's own RSS. */
  memoryMb: 120,
  sqlite: { drainShare: 0.8, nativeDrainShare: 1.5, bulkPerSecond: 100_000 as number | null, pickupP50Ms: 25, shapeShare: { '4x1': 0.85, '1x4': 0.85 } },
  postgres: { drainShare: 0.7, nativeDrainShare: 1.3, bulkPerSecond: null as number | null, pickupP50Ms: 10, shapeShare: { '4x1': 0.8, '1x4': 0.85 } },
};

/** The drain's target beside the higher child_process ceiling: issue 14's when jobs start with posix_spawn. */
const drainTarget = (d: DrainResult, backend: 'sqlite' | 'postgres') => (d.engine === 'posix_spawn' ? TARGETS[backend].nativeDrainShare : TARGETS[backend].drainShare);

/**
 * Issue 10's target for a worker shape, as a share of the 1-process × 4 spawn ceiling: the child_process loop (the
 * issue's baseline), and held as well to the addon's own posix_spawn loop (issue 14's native ceiling), the strict one.
 */
const shapeKey = (s: ShapeDrain) => `${s.shape.count}x${s.shape.concurrency}` as '4x1' | '1x4';
const num = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (met: boolean) => (met ? '✓' : '✗ **missed**');
const isError = <T>(o: Outcome<T> | undefined): o is { error: string } => o !== undefined && 'error' in (o as object);

function cell<T>(outcome: Outcome<T> | undefined, show: (value: T) => string): string {
  if (outcome === undefined) return '–';
  if (isError(outcome)) return `error: ${outcome.error.split('\n')[0]!.slice(0, 80)}`;
  return show(outcome);
}

/** The results as a markdown table plus the breakdowns that explain them. */
export function renderMarkdown(r: BenchResults): string {
  const rows: string[][] = [];
  const pg = r.postgres.used;
  const both = <T>(per: PerBackend<T>, show: (value: T, backend: 'sqlite' | 'postgres') => string) => [
    cell(per.sqlite, (value) => show(value, 'sqlite')),
    pg ? cell(per.postgres, (value) => show(value, 'postgres')) : 'not run',
  ];
  const percent = (share: number) => `${num(share * 100)}%`;

  const startupRuns = isError(r.startup) || !r.startup ? '' : ` (median of ${r.startup.runs})`;
  const nodeMs = isError(r.startup) || !r.startup ? '–' : `\`node -e 0\`: ${num(r.startup.nodeMs)} ms`;
  rows.push(['1', `Start-up \`queuectl enqueue\`${startupRuns}`, cell(r.startup, (s) => `${num(s.enqueueMs)} ms = ${num(s.enqueueRatio, 2)}× node ${verdict(s.enqueueRatio <= TARGETS.startupRatio)}`), '–', nodeMs, '≤ 2×']);
  rows.push(['1', `Start-up \`queuectl status\`${startupRuns}`, cell(r.startup, (s) => `${num(s.statusMs)} ms = ${num(s.statusRatio, 2)}× node ${verdict(s.statusRatio <= TARGETS.startupRatio)}`), '–', nodeMs, '≤ 2×']);

  const drainJobs = Object.values(r.drain).find((d) => d && !isError(d)) as DrainResult | undefined;
  const loops = (show: (d: DrainResult) => string) => (['sqlite', 'postgres'] as const).map((b) => cell(r.drain[b], show)).filter((t) => t !== '–').join(' / ');
  for (const [i, shape] of (drainJobs?.shapes ?? []).entries()) {
    const key = shapeKey(shape);
    rows.push([
      '2',
      `Drain ${num(drainJobs!.jobs)} × \`true\`, \`worker start ${shapeName(shape.shape)}\` (median of ${drainJobs!.rounds})`,
      ...both(r.drain, (d, b) => {
        const s = d.shapes[i]!;
        const target = TARGETS[b].shapeShare[key];
        const strict = s.ratio.native === null ? '' : `; ${percent(s.ratio.native)} of the posix_spawn loop ${verdict(s.ratio.native >= target)}`;
        const threaded = s.ratio.threaded === null ? '' : ` (${percent(s.ratio.threaded)} of the threaded one)`;
        return `${num(s.jobsPerSecond)} jobs/s = ${percent(s.ratio.oneProcess)} of the child_process loop ${verdict(s.ratio.oneProcess >= target)}${strict}${threaded}`;
      }),
      `1 process × 4 in flight, jobs/s: child_process ${loops((d) => num(d.ceiling.oneProcess))}; posix_spawn ${loops((d) => (d.nativeCeiling ? num(d.nativeCeiling.perSecond) : '–'))}; threaded posix_spawn ${loops((d) => (d.threadedCeiling ? num(d.threadedCeiling.perSecond) : '–'))}`,
      `≥ ${percent(TARGETS.sqlite.shapeShare[key])} / ≥ ${percent(TARGETS.postgres.shapeShare[key])} of the 1 × 4 loop`,
    ]);
  }
  rows.push([
    '2',
    'Drain, the faster shape, beside the higher child_process ceiling (1 × 4 or 4 × 1)',
    ...both(r.drain, (d, b) => {
      const best = Math.max(...d.shapes.map((s) => s.ratio.best));
      return `${num(best, 2)}× ${verdict(best >= drainTarget(d, b))} (jobs start with ${d.engine})`;
    }),
    `${(['sqlite', 'postgres'] as const).map((b) => cell(r.drain[b], (d) => `${num(d.ceiling.baseline)} jobs/s`)).filter((t) => t !== '–').join(' / ')}`,
    `≥ ${num(TARGETS.sqlite.nativeDrainShare, 1)}× / ≥ ${num(TARGETS.postgres.nativeDrainShare, 1)}× with posix_spawn; ≥ ${percent(TARGETS.sqlite.drainShare)} / ≥ ${percent(TARGETS.postgres.drainShare)} with child_process`,
  ]);
  if (drainJobs?.peer) {
    rows.push([
      '2',
      `Drain, the faster shape, beside the Node peer: ${drainJobs.peer.name}, 4 in flight, same rounds`,
      ...both(r.drain, (d, b) => {
        if (d.peer === null) return 'no peer (PostgreSQL not in the run)';
        const best = Math.max(...d.shapes.map((s) => s.ratio.peer ?? 0));
        return `${num(best, 2)}× ${verdict(best >= TARGETS[b].nativeDrainShare)}`;
      }),
      `pg-boss jobs/s: ${(['sqlite', 'postgres'] as const).map((b) => cell(r.drain[b], (d) => (d.peer ? num(d.peer.perSecond) : '–'))).filter((t) => t !== '–').join(' / ')}`,
      `≥ ${num(TARGETS.sqlite.nativeDrainShare, 1)}× / ≥ ${num(TARGETS.postgres.nativeDrainShare, 1)}×`,
    ]);
  }
  const fourWorkers = drainJobs?.shapes.findIndex((s) => s.shape.count > 1) ?? -1;
  if (fourWorkers >= 0) {
    rows.push(['2', `Jobs per worker (min–max), ${shapeName(drainJobs!.shapes[fourWorkers]!.shape)}`, ...both(r.drain, (d) => `${d.shapes[fourWorkers]!.perWorker.min}–${d.shapes[fourWorkers]!.perWorker.max}`), `even split: ${drainJobs!.jobs / drainJobs!.shapes[fourWorkers]!.shape.count}`, 'fair']);
  }

  const memorySlots = (Object.values(r.memory).find((m) => m && !isError(m)) as MemoryResult | undefined)?.full.concurrency ?? 100;
  rows.push([
    '7',
    `Memory: one worker \`--concurrency ${memorySlots}\` running ${memorySlots} × \`sleep 30\`, the worker process's VmRSS (its jobs not counted)`,
    ...both(r.memory, (m) => `${num(m.full.workerRssMb, 1)} MB (peak ${num(m.full.workerPeakMb, 1)}) ${verdict(m.full.workerRssMb <= TARGETS.memoryMb)}`),
    `\`--concurrency 1\` with 1 job: ${(['sqlite', 'postgres'] as const).map((b) => cell(r.memory[b], (m) => `${num(m.one.workerRssMb, 1)} MB`)).filter((t) => t !== '–').join(' / ')}; per extra slot: ${(['sqlite', 'postgres'] as const).map((b) => cell(r.memory[b], (m) => `${num(m.mbPerExtraSlot, 2)} MB`)).filter((t) => t !== '–').join(' / ')}`,
    `≤ ${TARGETS.memoryMb} MB`,
  ]);

  const bulkJobs = Object.values(r.bulk).find((b) => b && !isError(b)) as BulkEnqueueResult | undefined;
  rows.push([
    '3',
    `Bulk \`enqueue --file\` of ${bulkJobs ? num(bulkJobs.jobs) : ''} jobs (process wall time, median of ${bulkJobs?.samplesMs.length ?? ''})`,
    ...both(r.bulk, (b, backend) => {
      const target = TARGETS[backend].bulkPerSecond;
      return `${num(b.jobsPerSecond)} jobs/s (${num(b.ms / 1000, 2)} s)${target === null ? '' : ` ${verdict(b.jobsPerSecond >= target)}`}`;
    }),
    '–',
    `≥ ${num(TARGETS.sqlite.bulkPerSecond!)} jobs/s (SQLite)`,
  ]);

  rows.push([
    '4',
    'Pickup latency p50 / p95, one idle worker',
    ...both(r.pickup, (p, b) => `${num(p.p50Ms, 1)} / ${num(p.p95Ms, 1)} ms (n=${p.samples}) ${verdict(p.p50Ms <= TARGETS[b].pickupP50Ms)}`),
    `spawning the same command alone, p50: ${(['sqlite', 'postgres'] as const).map((b) => cell(r.pickup[b], (p) => `${num(p.spawnAlone.p50Ms, 1)} ms`)).filter((t) => t !== '–').join(' / ')}`,
    `p50 ≤ ${TARGETS.sqlite.pickupP50Ms} ms / ≤ ${TARGETS.postgres.pickupP50Ms} ms`,
  ]);

  rows.push([
    '5',
    'Crash recovery: `kill -9` busy worker → attempt 2 running',
    cell(r.recovery, (c) => `${num(c.medianMs / 1000, 2)} s median, ${num(c.maxMs / 1000, 2)} s max (n=${c.samples}) ${verdict(c.maxMs <= TARGETS.recoveryMs)}`),
    'not measured',
    cell(r.recovery, (c) => `lease-timeout ${c.config.leaseTimeoutSeconds} s, backoff-base ${c.config.backoffBase} (retry after ${num(c.config.retryDelayMs / 1000, 1)} s), max_retries ${c.config.maxRetries}`),
    '≤ 5 s',
  ]);

  const storeJobs = Object.values(r.store).find((s) => s && !isError(s)) as StoreThroughputResult | undefined;
  rows.push([
    '6',
    `Store API claim + finishAttempt, ${storeJobs ? num(storeJobs.jobs) : ''} no-op jobs, 4 loops in-process`,
    ...both(r.store, (s) => `${num(s.jobsPerSecond)} jobs/s (${num(s.usPerJob)} µs/job)`),
    '–',
    '–',
  ]);

  const header = ['#', 'Measurement', 'SQLite', 'PostgreSQL', 'Baseline (same run)', 'Target'];
  const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');

  const notes: string[] = [];
  for (const backend of ['sqlite', 'postgres'] as const) {
    const d = r.drain[backend];
    if (d && !isError(d)) {
      const shapes = d.shapes.map((s) =>
        `${shapeName(s.shape)}: ${num(s.drainMs)} ms first start → last finish (last worker's first claim after ${num(s.rampMs)} ms); per job ${num(s.perJob.inJobMs)} (mean ${num(s.perJob.meanInJobMs, 2)}) ms claim → finish write, ${num(s.perJob.idleSlotMs, 2)} ms of slot time idle; workers' CPU ${s.cpuMsPerJob === null ? '?' : num(s.cpuMsPerJob, 2)} ms per job${s.serverCpuMsPerJob === null ? '' : ` + the server's ${num(s.serverCpuMsPerJob, 2)} ms (${s.serverProcesses} backends)`}; ${num(s.ratio.native === null ? NaN : s.ratio.native * 100)}% of the posix_spawn loop, ${num(s.ratio.threaded === null ? NaN : s.ratio.threaded * 100)}% of the threaded one, ${num(s.ratio.oneProcess, 2)}× the child_process 1 × 4 loop, ${num(s.ratio.best, 2)}× the higher child_process shape${s.shape.count > 1 ? `; jobs per worker ${s.perWorker.counts.join(', ')}` : ''}`,
      ).join('. ');
      notes.push(
        `- drain/${backend} (jobs start with ${d.engine}; medians of ${d.rounds} round(s), load average ${d.loadAverages.map((l) => num(l, 1)).join(', ')} at their starts; per round, share of the ${d.nativeCeiling ? 'posix_spawn' : 'child_process'} loop: ${d.shapes.map((s) => `${s.shape.count}×${s.shape.concurrency} ${s.roundsRatio.map((v) => percent(v)).join(', ')}`).join('; ')}): ${shapes}. Spawn loops: child_process 1 × 4 ${num(d.ceiling.oneProcess)}, 4 × 1 ${num(d.ceiling.fourProcesses)} jobs/s (runs: ${d.ceiling.runs.map((c) => num(c.perSecond)).join(', ')}), CPU per run ${num(d.ceiling.cpuMsPerRun, 2)} ms${d.nativeCeiling ? `; posix_spawn 1 × 4 ${num(d.nativeCeiling.perSecond)} jobs/s (runs: ${d.nativeCeiling.runs.map((v) => num(v)).join(', ')}), CPU per run ${num(d.nativeCeiling.cpuMsPerRun, 2)} ms` : ''}${d.threadedCeiling ? `; threaded posix_spawn 1 × 4 ${num(d.threadedCeiling.perSecond)} jobs/s (runs: ${d.threadedCeiling.runs.map((v) => num(v)).join(', ')}), CPU per run ${num(d.threadedCeiling.cpuMsPerRun, 2)} ms` : ''}${d.peer ? `. Peer: ${d.peer.name} ${num(d.peer.perSecond)} jobs/s (runs: ${d.peer.runs.map((v) => num(v)).join(', ')}), its process's CPU ${num(d.peer.cpuMsPerRun, 2)} ms per job` : ''}.`,
      );
    }
    const m = r.memory[backend];
    if (m && !isError(m)) {
      notes.push(`- memory/${backend}: worker VmRSS ${num(m.one.workerRssMb, 1)} MB at --concurrency 1 with 1 job, ${num(m.full.workerRssMb, 1)} MB at --concurrency ${m.full.concurrency} with ${m.full.jobs} (peak VmHWM ${num(m.one.workerPeakMb, 1)} / ${num(m.full.workerPeakMb, 1)} MB): ${num(m.mbPerExtraSlot, 3)} MB per extra slot. The jobs are separate processes, not counted: ${m.full.jobProcesses} of them (sh, sleep) with ${num(m.full.jobProcessesRssMb, 1)} MB RSS together (shared pages counted in each).`);
    }
    const p = r.pickup[backend];
    if (p && !isError(p)) {
      notes.push(`- pickup/${backend}: enqueue returned → claimed p50 ${num(p.claim.p50Ms, 1)} / p95 ${num(p.claim.p95Ms, 1)} ms; claimed → command ran p50 ${num(p.spawn.p50Ms, 1)} / p95 ${num(p.spawn.p95Ms, 1)} ms; max ${num(p.maxMs, 1)} ms. Floor, the same command spawned by the bench between samples: p50 ${num(p.spawnAlone.p50Ms, 1)} / p95 ${num(p.spawnAlone.p95Ms, 1)} ms.`);
    }
  }
  if (r.recovery && !isError(r.recovery)) {
    const parts = r.recovery.parts.map((p) => `${num(p.detectMs)} + ${num(p.backoffAndClaimMs)} + ${num(p.spawnMs)}`).join('; ');
    notes.push(`- recovery, per sample in ms: kill → lost attempt recorded + → retry claimed (backoff) + → command ran: ${parts}.`);
  }
  for (const backend of ['sqlite', 'postgres'] as const) {
    const b = r.bulk[backend];
    if (b && !isError(b)) notes.push(`- bulk/${backend}: samples ${b.samplesMs.map((ms) => num(ms)).join(', ')} ms.`);
  }
  if (!pg && r.postgres.reason) notes.push(`- PostgreSQL not run: ${r.postgres.reason}`);
  return `${table}\n\n${notes.join('\n')}\n`;
}
