import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, progress, runCli, sleep, type Cleanup } from './harness';
import { createTarget, startWorkers, workerLogTail, type Backend } from './targets';

/** The job every slot runs while the worker's memory is read: long enough to outlast the reading. */
const JOB = { command: 'sleep 30' };
/** RSS is read this often for this long once every job runs; the median is the figure. */
const SAMPLE_EVERY_MS = 200;
const SAMPLE_FOR_MS = 2000;

/** One worker process holding `jobs` running jobs. */
export interface MemorySample {
  concurrency: number;
  jobs: number;
  /** VmRSS of the worker process alone (MB, median over SAMPLE_FOR_MS), its job processes not counted. */
  workerRssMb: number;
  /** VmHWM: the worker process's peak RSS since it started (MB). */
  workerPeakMb: number;
  /** The job processes (the worker's descendants: `sh`, `sleep`), summed, for scale (MB): not the worker's. */
  jobProcessesRssMb: number;
  jobProcesses: number;
}

export interface MemoryResult {
  /** Concurrency 1 with 1 job running, then concurrency `slots` with `slots` running. */
  one: MemorySample;
  full: MemorySample;
  /** (full − one) / (slots − 1): what each slot in use adds to the worker process. */
  mbPerExtraSlot: number;
}

/**
 * Memory of one worker process: `worker start --count 1 --concurrency 1` with one `sleep 30` running, then
 * `--concurrency SLOTS` with SLOTS of them running, each in a fresh store. The figure is the worker process's own
 * VmRSS (/proc/PID/status), read once every job has been claimed and its process started; the jobs are separate
 * processes and are reported apart. Workers are stopped by force (`worker stop --timeout 1`): the jobs would run 30 s.
 */
export async function measureMemory(params: { backend: Backend; slots: number; cleanup: Cleanup }): Promise<MemoryResult> {
  const one = await sampleWorker({ ...params, concurrency: 1 });
  const full = await sampleWorker({ ...params, concurrency: params.slots });
  return { one, full, mbPerExtraSlot: (full.workerRssMb - one.workerRssMb) / (params.slots - 1) };
}

async function sampleWorker(params: { backend: Backend; concurrency: number; cleanup: Cleanup }): Promise<MemorySample> {
  const { backend, concurrency, cleanup } = params;
  const target = createTarget(backend, `memory${concurrency}`, cleanup);
  const store = await target.open();
  progress(`memory/${backend}: one worker --concurrency ${concurrency}, ${concurrency} × ${JOB.command}`);
  const file = join(target.dir, 'jobs.jsonl');
  writeFileSync(file, `${JSON.stringify(JOB)}\n`.repeat(concurrency));
  const workers = await startWorkers(target, 1, cleanup, { concurrency, stopTimeoutSeconds: 1 });
  const pid = workers.pids[0]!;
  await runCli(target.env, ['enqueue', '--file', file]);
  // Every slot busy and every job's process started (the worker's descendants: at least one per job).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { counts } = await store.countJobs();
    if (counts.processing === concurrency && childrenOf(pid).length >= concurrency) break;
    if (Date.now() > deadline) throw new Error(`memory/${backend}: ${counts.processing} of ${concurrency} jobs running after 60 s; worker log:\n${workerLogTail(target)}`);
    await sleep(100);
  }
  const rss: number[] = [];
  const jobRss: number[] = [];
  let jobProcesses = 0;
  for (let at = 0; at < SAMPLE_FOR_MS; at += SAMPLE_EVERY_MS) {
    rss.push(statusKb(pid, 'VmRSS'));
    const descendants = descendantsOf(pid);
    jobProcesses = descendants.length;
    jobRss.push(descendants.reduce((sum, child) => sum + statusKb(child, 'VmRSS', 0), 0));
    await sleep(SAMPLE_EVERY_MS);
  }
  const peak = statusKb(pid, 'VmHWM');
  const { counts } = await store.countJobs();
  if (counts.processing !== concurrency) throw new Error(`memory/${backend}: ${counts.processing} of ${concurrency} jobs still running at the end of the reading`);
  await workers.stop();
  const mb = (kb: number) => kb / 1024;
  return { concurrency, jobs: concurrency, workerRssMb: mb(median(rss)), workerPeakMb: mb(peak), jobProcessesRssMb: mb(median(jobRss)), jobProcesses };
}

/** A field of /proc/PID/status in kB (VmRSS, VmHWM); `fallback` for a process gone meanwhile, else it throws. */
function statusKb(pid: number, field: string, fallback?: number): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (match) return Number(match[1]);
  } catch (err) {
    if (fallback === undefined) throw err;
  }
  if (fallback === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return fallback;
}

/** A process's children (every thread's), from /proc/PID/task/TID/children. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return children;
}

function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  for (let level = childrenOf(pid); level.length > 0; level = level.flatMap(childrenOf)) all.push(...level);
  return all;
}
