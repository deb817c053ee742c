import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMeasuringChild } from './harness';

/**
 * The raw spawn ceiling: how fast Node can run `sh -c true` with 4 in flight, spawned the plain way: its own process
 * group, stdout and stderr piped (Node's way to capture a child's output), done when the pipes close. Workers capture
 * output through files on a tmpfs instead (src/worker/output-capture.ts), which costs less than pipes; the ceiling
 * stays the plain spawn, the brief's baseline. Two shapes are measured: one process with 4 in flight (the brief's baseline), and
 * 4 processes with 1 each (the shape of 4 workers, which on a busy machine gets 4 processes' share of the CPU).
 * With `engine` posix_spawn the loop is queuectl's addon instead (issue 14's "native ceiling": what the workers'
 * spawn could reach with no queue at all). The loop itself is spawn-ceiling-child.cjs, plain JavaScript run by a bare `node` in its own session, as workers
 * are: under tsx's loader, or in the bench's session, the same loop measured up to a third slower (a flattered queue).
 */

/**
 * How a spawn loop starts `sh -c true`: Node's child_process, or queuectl's posix_spawn addon with no queue, its
 * `spawn` on the loop's thread or its `spawnAsync` on the threadpool (as workers start jobs).
 */
export type CeilingEngine = 'child_process' | 'posix_spawn' | 'posix_spawn_async';

/** The addon the posix_spawn loop loads; without it only the child_process loops run. */
export const ADDON_PATH = join(__dirname, '..', 'build', 'Release', 'queuectl_spawn.node');

/** Whether the built addon has spawnAsync (an addon built before it has only spawn). */
export function addonHasSpawnAsync(): boolean {
  try {
    return typeof (require(ADDON_PATH) as { spawnAsync?: unknown }).spawnAsync === 'function';
  } catch {
    return false;
  }
}

export interface CeilingResult {
  engine: CeilingEngine;
  processes: number;
  ms: number;
  /** Runs done: `runs`, or a few fewer when loops claimed the last ones at the same moment. */
  runs: number;
  /** CPU time the looping Node processes spent per run once started (their own, not the `sh` children's). */
  cpuMsPerRun: number;
  perSecond: number;
}

/**
 * Runs `runs` spawns shared by `processes` fresh Node processes with `concurrency / processes` in flight each.
 * Every process loads, reports ready, and starts only when all are ready; the time is first start to last finish.
 * `dir` holds the counter file through which the processes share the runs.
 */
export async function measureSpawnCeiling(runs: number, concurrency: number, processes: number, dir: string, engine: CeilingEngine = 'child_process'): Promise<CeilingResult> {
  const counterFile = join(dir, `ceiling-${engine}-${processes}-${Date.now()}`);
  writeFileSync(counterFile, '');
  const children = Array.from({ length: processes }, () =>
    startMeasuringChild<{ start: number; end: number; runs: number; cpuMs: number }>(
      join(__dirname, 'spawn-ceiling-child.cjs'), [counterFile, String(runs), String(concurrency / processes), engine], 'spawn-ceiling child',
    ),
  );
  try {
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin.end('go\n');
    const spans = await Promise.all(children.map((c) => c.done));
    const ms = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
    const done = spans.reduce((sum, s) => sum + s.runs, 0);
    const cpuMs = spans.reduce((sum, s) => sum + s.cpuMs, 0);
    return { engine, processes, ms, runs: done, perSecond: done / (ms / 1000), cpuMsPerRun: cpuMs / done };
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  }
}
