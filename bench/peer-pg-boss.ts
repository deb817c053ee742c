import { join } from 'node:path';
import { startMeasuringChild } from './harness';

/**
 * Issue 14's Node peer: pg-boss draining `true` jobs with 4 in flight, beside queuectl's drains in the same rounds.
 * The drain measures its faster shape, 4 `work()` loops with a batch of 100 each (see DrainResult.peer for why not one
 * `work()` running its batch 4 at a time). The loop is peer-pg-boss-child.cjs.
 */

export interface PeerResult {
  workers: number;
  ms: number;
  runs: number;
  /** CPU time of the pg-boss process per job (its own, not the server's or the `sh` children's). */
  cpuMsPerRun: number;
  perSecond: number;
}

/** Drains `jobs` jobs through pg-boss on `pgUrl` in a fresh schema, with `workers` work() loops and `inFlight` in all. */
export async function measurePgBossDrain(pgUrl: string, jobs: number, workers: number, inFlight: number): Promise<PeerResult> {
  const schema = `bench_pgboss_${process.pid}_${Date.now()}`;
  const { child, ready, done } = startMeasuringChild<{ start: number; end: number; runs: number; cpuMs: number }>(
    join(__dirname, 'peer-pg-boss-child.cjs'), [pgUrl, schema, String(jobs), String(workers), String(inFlight)], 'pg-boss peer',
  );
  try {
    await ready;
    child.stdin.end('go\n');
    const span = await done;
    const ms = span.end - span.start;
    return { workers, ms, runs: span.runs, cpuMsPerRun: span.cpuMs / span.runs, perSecond: span.runs / (ms / 1000) };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
