import { spawnSync } from 'node:child_process';
import { parseJobSpec } from '../src/core/job-spec';
import { Queue } from '../src/queue';
import { percentile, progress, type Cleanup } from './harness';
import { createTarget, DEFAULT_PG_URL, type Backend } from './targets';

/*
 * Issue 11's targets: with 1,000,000 pending jobs in the store, `status`, `stats`, the first page of `list` with and
 * without a state filter, and each API call the dashboard's overview uses answer within 50 ms of store time (p95);
 * the same calls on an empty store beside them, in one run. Store time is the Queue call's wall time in this process
 * (what the command or route waits for), without Node's start-up or HTTP. The jobs go in through the bulk enqueue
 * path (Store.enqueue in batches, as `enqueue --file` does); a few hundred are run first so stats have finishes.
 */

export const DASHBOARD_TARGET_MS = 50;

export interface DashboardScaleResult {
  jobs: number;
  samples: number;
  enqueueSeconds: number;
  /** p95 (and p50) per call, in ms: on the empty store and on the full one. */
  calls: { name: string; emptyP95Ms: number; fullP95Ms: number; emptyP50Ms: number; fullP50Ms: number }[];
}

const BATCH = 10_000;
const FINISHED = 300;

/** The calls measured: the CLI's and the overview's (GET /api/overview is Queue.stats over the last hour). */
const CALLS: { name: string; run: (queue: Queue) => Promise<unknown> }[] = [
  { name: 'status', run: (q) => q.status() },
  { name: 'stats (1h)', run: (q) => q.stats({ windowMs: 3_600_000 }) },
  { name: 'list, first page', run: (q) => q.list({ limit: 50 }) },
  { name: 'list --state pending, first page', run: (q) => q.list({ state: 'pending', limit: 50 }) },
  { name: 'GET /api/overview', run: (q) => q.stats({ windowMs: 3_600_000 }) },
  { name: 'GET /api/jobs (first page)', run: (q) => q.jobPage({ limit: 50 }) },
  { name: 'GET /api/jobs?state=pending', run: (q) => q.jobPage({ state: 'pending', limit: 50 }) },
  { name: 'GET /api/dlq', run: (q) => q.jobPage({ state: 'dead', limit: 50 }) },
];

async function timeCalls(queue: Queue, samples: number): Promise<{ p50: number; p95: number }[]> {
  const p95s: { p50: number; p95: number }[] = [];
  for (const call of CALLS) {
    await call.run(queue); // warm: statement caches, the page cache
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const start = process.hrtime.bigint();
      await call.run(queue);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    p95s.push({ p50: percentile(times, 50), p95: percentile(times, 95) });
  }
  return p95s;
}

export async function measureDashboardScale(params: { backend: Backend; jobs: number; samples: number; cleanup: Cleanup }): Promise<DashboardScaleResult> {
  const target = createTarget(params.backend, 'dashscale', params.cleanup);
  const store = await target.open();
  const queue = new Queue(store);
  const empty = await timeCalls(queue, params.samples);

  // Some history first: finished attempts (half fail) for stats, then the bulk of pending jobs.
  const spec = (command: string) => parseJobSpec({ command, max_retries: 0 }, target.dir).job;
  await store.enqueue({ jobs: Array.from({ length: FINISHED }, (_, i) => spec(`run ${i}`)), ifNotExists: false });
  await store.registerWorker({ worker: { id: 'bench-w', host: 'bench', pid: process.pid, pidStart: null }, concurrency: 1, queues: null });
  for (let i = 0; i < FINISHED; i++) {
    const claimed = (await store.claim({ workerId: 'bench-w', host: 'bench', leaseMs: 60_000, limit: 1, queues: null }))[0]!;
    const ok = i % 2 === 0;
    await store.finishAttempt({
      jobId: claimed.job.id, workerId: 'bench-w', attempt: claimed.attempt,
      result: { outcome: 'exit', exitCode: ok ? 0 : 1, signal: null, error: ok ? null : 'exit code 1' },
      next: { state: ok ? 'completed' : 'dead', retryDelayMs: 0, countsAttempt: true },
    });
  }
  const started = Date.now();
  for (let done = 0; done < params.jobs; done += BATCH) {
    const n = Math.min(BATCH, params.jobs - done);
    await store.enqueue({ jobs: Array.from({ length: n }, (_, i) => spec(`echo job ${done + i}`)), ifNotExists: false });
    if ((done / BATCH) % 20 === 19) progress(`dashboard/${params.backend}: ${done + n} jobs`);
  }
  const enqueueSeconds = (Date.now() - started) / 1000;
  // What autovacuum and the checkpointer do soon after a bulk load anyway: statistics, the visibility map (index-only
  // counts) and the load's dirty pages written out, so the figures are the steady state's, not the load's tail.
  if (params.backend === 'postgres') vacuum(target.env.QUEUECTL_SCHEMA!);
  const full = await timeCalls(queue, params.samples);
  return {
    jobs: params.jobs, samples: params.samples, enqueueSeconds,
    calls: CALLS.map((call, i) => ({ name: call.name, emptyP95Ms: empty[i]!.p95, fullP95Ms: full[i]!.p95, emptyP50Ms: empty[i]!.p50, fullP50Ms: full[i]!.p50 })),
  };
}

function vacuum(schema: string): void {
  for (const sql of [`VACUUM (ANALYZE) "${schema}".jobs`, `VACUUM (ANALYZE) "${schema}".attempts`, 'CHECKPOINT']) {
    const result = spawnSync('psql', [DEFAULT_PG_URL, '-X', '-q', '-c', sql], { encoding: 'utf8', timeout: 300_000 });
    if (result.status !== 0) throw new Error(`${sql}: ${result.stderr.trim()}`);
  }
}

const num = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

/** The markdown table: each call's p95 on the empty and the full store, per backend, against the target. */
export function renderDashboardScale(per: Partial<Record<Backend, DashboardScaleResult | { error: string }>>): string {
  const lines: string[] = [];
  for (const [backend, r] of Object.entries(per)) {
    if (!r) continue;
    if ('error' in r) {
      lines.push(`Dashboard scale (${backend}): error: ${r.error}`, '');
      continue;
    }
    lines.push(
      `### Dashboard and stats at scale, ${backend}: ${r.jobs.toLocaleString('en-US')} pending jobs (enqueued in ${num(r.enqueueSeconds)} s), p95 of ${r.samples} calls`,
      '',
      `| call | empty store p95 (p50) | ${r.jobs.toLocaleString('en-US')} jobs p95 (p50) | target p95 ≤ ${DASHBOARD_TARGET_MS} ms |`,
      '| --- | ---: | ---: | --- |',
      ...r.calls.map((c) => `| ${c.name} | ${num(c.emptyP95Ms)} (${num(c.emptyP50Ms)}) ms | ${num(c.fullP95Ms)} (${num(c.fullP50Ms)}) ms | ${c.fullP95Ms <= DASHBOARD_TARGET_MS ? '✓' : '✗ **missed**'} |`),
      '',
    );
  }
  return lines.join('\n');
}
