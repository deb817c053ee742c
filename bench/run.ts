import { existsSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureBulkEnqueue } from './bulk-enqueue';
import { measureDashboardScale, renderDashboardScale } from './dashboard-scale';
import { measureDrain } from './drain';
import { CLI_BIN, Cleanup, progress } from './harness';
import { measureMemory } from './memory';
import { measurePickup } from './pickup';
import { measureRecovery } from './recovery';
import { renderMarkdown, type BenchResults, type Outcome } from './report';
import { measureStartup } from './startup';
import { measureStoreThroughput } from './store-throughput';
import { DEFAULT_PG_URL, postgresUnavailable, usePgUrl, type Backend } from './targets';

/**
 * The benchmark suite: `npm run bench [-- --quick] [--pg | --no-pg] [--pg-url URL] [--only startup,drain,…] [--backends sqlite,postgres]`.
 * Prints a markdown table on stdout (progress goes to stderr) and writes bench/results.json. PostgreSQL runs when
 * its server answers and its adapter is real, or always with --pg (then failing if it cannot).
 */

const SIZES = {
  full: { startupRuns: 21, drainJobs: 2000, drainRounds: 3, bulkJobs: 100_000, bulkSamples: 5, pickupSamples: 40, recoverySamples: 3, storeJobs: 5000, dashboardJobs: 1_000_000, dashboardSamples: 40, memorySlots: 100 },
  quick: { startupRuns: 5, drainJobs: 300, drainRounds: 1, bulkJobs: 10_000, bulkSamples: 1, pickupSamples: 10, recoverySamples: 1, storeJobs: 1000, dashboardJobs: 100_000, dashboardSamples: 10, memorySlots: 100 },
};
const MEASUREMENTS = ['startup', 'drain', 'memory', 'bulk', 'pickup', 'recovery', 'store', 'dashboard'] as const;
type Measurement = (typeof MEASUREMENTS)[number];

/** The cleanup of the measurement running now, so Ctrl+C still stops its workers and removes its files. */
let active: Cleanup | null = null;
let failures = 0;

async function measure<T>(name: string, fn: (cleanup: Cleanup) => Promise<T>): Promise<Outcome<T>> {
  const cleanup = new Cleanup();
  active = cleanup;
  progress(`${name}…`);
  try {
    return await fn(cleanup);
  } catch (err) {
    failures++;
    progress(`${name} failed: ${(err as Error).message}`);
    return { error: (err as Error).message };
  } finally {
    await cleanup.runAll(progress);
    active = null;
  }
}

function onSignal(signal: NodeJS.Signals) {
  progress(`${signal}: cleaning up`);
  const cleanup = active;
  void (cleanup ? cleanup.runAll(progress) : Promise.resolve()).finally(() => process.exit(130));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      pg: { type: 'boolean' },
      'no-pg': { type: 'boolean', default: false },
      'pg-url': { type: 'string', default: process.env.QUEUECTL_BENCH_PG_URL ?? DEFAULT_PG_URL },
      only: { type: 'string' },
      backends: { type: 'string' },
    },
  });
  const sizes = values.quick ? SIZES.quick : SIZES.full;
  const only = new Set((values.only ?? MEASUREMENTS.join(',')).split(',').map((s) => s.trim()));
  for (const name of only) if (!MEASUREMENTS.includes(name as Measurement)) throw new Error(`--only: unknown measurement '${name}' (known: ${MEASUREMENTS.join(', ')})`);
  const wanted = (name: Measurement) => only.has(name);
  if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing; run 'npm run build' (npm run bench does)`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const pgUrl = values['pg-url']!;
  usePgUrl(pgUrl);
  let pgReason: string | null = 'disabled with --no-pg';
  if (!values['no-pg']) {
    pgReason = await postgresUnavailable(pgUrl);
    if (pgReason !== null && values.pg) throw new Error(`--pg: PostgreSQL at ${pgUrl} cannot be benchmarked: ${pgReason}`);
    progress(pgReason === null ? `PostgreSQL at ${pgUrl}: in` : `PostgreSQL skipped: ${pgReason}`);
  }
  const available: Backend[] = pgReason === null ? ['sqlite', 'postgres'] : ['sqlite'];
  const asked = values.backends?.split(',').map((s) => s.trim()) ?? available;
  for (const name of asked) if (!(['sqlite', 'postgres'] as string[]).includes(name)) throw new Error(`--backends: unknown store '${name}' (known: sqlite, postgres)`);
  if (asked.includes('postgres') && pgReason !== null) throw new Error(`--backends postgres: PostgreSQL at ${pgUrl} cannot be benchmarked: ${pgReason}`);
  const backends = available.filter((backend) => asked.includes(backend));

  const args = process.argv.slice(2).join(' ');
  const results: BenchResults = {
    date: new Date().toISOString(),
    command: process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args ? ` -- ${args}` : ''}` : `node --import tsx bench/run.ts ${args}`.trim(),
    quick: values.quick === true,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, os: `${process.platform} ${release()}` },
    postgres: { url: pgUrl, used: pgReason === null, reason: pgReason },
    drain: {},
    memory: {},
    bulk: {},
    pickup: {},
    store: {},
    dashboard: {},
  };

  if (wanted('startup')) results.startup = await measure('startup', (cleanup) => measureStartup({ runs: sizes.startupRuns, cleanup }));
  for (const backend of backends) {
    if (wanted('drain')) results.drain[backend] = await measure(`drain/${backend}`, (cleanup) => measureDrain({ backend, jobs: sizes.drainJobs, rounds: sizes.drainRounds, cleanup, peerPgUrl: pgReason === null ? pgUrl : null }));
  }
  for (const backend of backends) {
    if (wanted('memory')) results.memory[backend] = await measure(`memory/${backend}`, (cleanup) => measureMemory({ backend, slots: sizes.memorySlots, cleanup }));
  }
  for (const backend of backends) {
    if (wanted('bulk')) results.bulk[backend] = await measure(`bulk/${backend}`, (cleanup) => measureBulkEnqueue({ backend, jobs: sizes.bulkJobs, samples: sizes.bulkSamples, cleanup }));
  }
  for (const backend of backends) {
    if (wanted('pickup')) results.pickup[backend] = await measure(`pickup/${backend}`, (cleanup) => measurePickup({ backend, samples: sizes.pickupSamples, cleanup }));
  }
  if (wanted('recovery')) results.recovery = await measure('recovery', (cleanup) => measureRecovery({ samples: sizes.recoverySamples, cleanup }));
  for (const backend of backends) {
    if (wanted('store')) results.store[backend] = await measure(`store/${backend}`, (cleanup) => measureStoreThroughput({ backend, jobs: sizes.storeJobs, cleanup }));
  }
  for (const backend of backends) {
    if (wanted('dashboard')) {
      results.dashboard[backend] = await measure(`dashboard/${backend}`, (cleanup) =>
        measureDashboardScale({ backend, jobs: sizes.dashboardJobs, samples: sizes.dashboardSamples, cleanup }));
    }
  }

  const jsonPath = join(__dirname, 'results.json');
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n## queuectl benchmarks — ${results.date.slice(0, 10)}${results.quick ? ' (--quick)' : ''}\n\n`);
  process.stdout.write(`Machine: ${results.machine.cores} cores (${results.machine.cpu}), ${results.machine.memoryGb} GB, Node ${results.machine.node}, ${results.machine.os}. Command: \`${results.command}\`.\n\n`);
  process.stdout.write(renderMarkdown(results));
  if (Object.keys(results.dashboard).length > 0) process.stdout.write(`\n${renderDashboardScale(results.dashboard)}`);
  progress(`raw results in ${jsonPath}`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    progress(err.message);
    process.exit(2);
  },
);
