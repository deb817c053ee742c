import type { BulkEnqueueResult } from './bulk-enqueue';
import type { DashboardScaleResult } from './dashboard-scale';
import type { DrainResult } from './drain';
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
  bulk: PerBackend<BulkEnqueueResult>;
  pickup: PerBackend<PickupResult>;
  recovery?: Outcome<RecoveryResult>;
  store: PerBackend<StoreThroughputResult>;
  dashboard: PerBackend<DashboardScaleResult>;
}

/** Targets from the issues: the core's for SQLite, the PostgreSQL store's for PostgreSQL (it sets none for bulk). */
export const TARGETS = {
  startupRatio: 2,
  recoveryMs: 5000,
  sqlite: { drainShare: 0.8, nativeDrainShare: 1.5, bulkPerSecond: 100_000 as number | null, pickupP50Ms: 25 },
  postgres: { drainShare: 0.7, nativeDrainShare: 1.3, bulkPerSecond: null as number | null, pickupP50Ms: 10 },
};

/** The drain's target, as a share of the child_process ceiling: issue 14's when jobs start with posix_spawn. */
const drainTarget = (d: DrainResult, backend: 'sqlite' | 'postgres') => (d.engine === 'posix_spawn' ? TARGETS[backend].nativeDrainShare : TARGETS[backend].drainShare);

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
  rows.push([
    '2',
    `Drain ${drainJobs ? num(drainJobs.jobs) : ''} × \`true\`, \`worker start --count 4\``,
    ...both(r.drain, (d, b) => `${num(d.jobsPerSecond)} jobs/s = ${num(d.ratioToCeiling * 100)}% of ceiling ${verdict(d.ratioToCeiling >= drainTarget(d, b))} (jobs start with ${d.engine})`),
    `child_process spawn ceiling, the higher of 1 process × 4 and 4 × 1, measured around each drain: ${(['sqlite', 'postgres'] as const).map((b) => cell(r.drain[b], (d) => `${num(d.ceiling.baseline)} jobs/s`)).filter((t) => t !== '–').join(' / ')}`,
    `≥ ${percent(TARGETS.sqlite.nativeDrainShare)} / ≥ ${percent(TARGETS.postgres.nativeDrainShare)} of ceiling with posix_spawn; ≥ ${percent(TARGETS.sqlite.drainShare)} / ≥ ${percent(TARGETS.postgres.drainShare)} with child_process`,
  ]);
  rows.push([
    '2',
    'Drain beside the native spawn loop (the addon, 1 process × 4, no queue)',
    ...both(r.drain, (d) => (d.nativeCeiling ? `${num(d.nativeCeiling.ratio * 100)}% of ${num(d.nativeCeiling.perSecond)} jobs/s` : 'addon not built')),
    'posix_spawn loop around each drain',
    '–',
  ]);
  rows.push(['2', 'Jobs per worker (min–max)', ...both(r.drain, (d) => `${d.perWorker.min}–${d.perWorker.max}`), `even split: ${drainJobs ? drainJobs.jobs / 4 : '–'}`, 'fair']);

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
      notes.push(
        `- drain/${backend}: ${num(d.drainMs)} ms first start → last finish, of which ${num(d.rampMs)} ms until all 4 workers had claimed; per job, median (mean), ${num(d.perJob.inJobMs)} (${num(d.perJob.meanInJobMs, 1)}) ms claim → finish write (spawn, exit, output read) + ${num(d.perJob.betweenJobsMs)} (${num(d.perJob.meanBetweenJobsMs, 1)}) ms finish write → next claim; spawn ceiling 1 process × 4: ${num(d.ceiling.oneProcess)} jobs/s, 4 processes × 1: ${num(d.ceiling.fourProcesses)} jobs/s (runs: ${d.ceiling.runs.map((c) => num(c.perSecond)).join(', ')}); jobs per worker ${d.perWorker.counts.join(', ')}; CPU per job: workers ${d.cpuMsPerJob.workers === null ? '?' : num(d.cpuMsPerJob.workers, 2)} ms (${d.engine}), 4 × 1 spawn loops ${num(d.cpuMsPerJob.ceilingLoops, 2)} ms${d.nativeCeiling ? `, posix_spawn loop ${num(d.nativeCeiling.cpuMsPerRun, 2)} ms` : ''}.`,
      );
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
