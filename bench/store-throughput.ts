import { parseJobSpec } from '../src/core/job-spec';
import { planAfterAttempt, type AttemptResult } from '../src/core/transitions';
import { progress, type Cleanup } from './harness';
import { createTarget, type Backend } from './targets';

const LOOPS = 4;
const LEASE_MS = 30_000;
const SUCCESS: AttemptResult = { outcome: 'exit', exitCode: 0, signal: null, error: null };
const NO_BACKOFF = { base: 2, maxSeconds: 3600, jitter: 0 };

export interface StoreThroughputResult {
  jobs: number;
  loops: number;
  ms: number;
  jobsPerSecond: number;
  /** Wall time per job across all loops (1 / rate), i.e. what claim + finishAttempt cost the queue per job. */
  usPerJob: number;
}

/**
 * Store overhead per job, without processes: `jobs` no-op jobs enqueued through the Store API, then four loops in this
 * process claim and finish them (as exit 0) as fast as the store lets them. The store is opened as workers open it
 * (`durability: normal`). SQLite calls are synchronous, so its four loops take turns on one connection: the figure is
 * per-job cost, not lock contention between processes (the drain measures that).
 */
export async function measureStoreThroughput(params: { backend: Backend; jobs: number; cleanup: Cleanup }): Promise<StoreThroughputResult> {
  const { backend, jobs, cleanup } = params;
  const target = createTarget(backend, 'store', cleanup);
  const store = await target.open({ durability: 'normal' });
  const newJobs = Array.from({ length: jobs }, () => parseJobSpec({ command: 'true' }, null).job);
  await store.enqueue({ jobs: newJobs, ifNotExists: false });
  const workerIds = Array.from({ length: LOOPS }, (_, i) => `w_bench${i}`);
  for (const id of workerIds) await store.registerWorker({ worker: { id, host: 'bench', pid: process.pid, pidStart: null }, concurrency: 1, queues: null });

  progress(`store/${backend}: claim + finish ${jobs} jobs in ${LOOPS} loops`);
  let done = 0;
  const loop = async (workerId: string) => {
    for (;;) {
      const [claimed] = await store.claim({ workerId, host: 'bench', leaseMs: LEASE_MS, limit: 1, queues: null });
      if (!claimed) return;
      const next = planAfterAttempt(claimed.job, SUCCESS, NO_BACKOFF);
      const ok = await store.finishAttempt({ jobId: claimed.job.id, workerId, attempt: claimed.attempt, result: SUCCESS, next });
      if (!ok) throw new Error(`store/${backend}: finishAttempt lost the lease of ${claimed.job.id}`);
      done++;
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(workerIds.map(loop));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (done !== jobs) throw new Error(`store/${backend}: finished ${done} of ${jobs} jobs`);
  const { counts } = await store.countJobs();
  if (counts.completed !== jobs) throw new Error(`store/${backend}: ${counts.completed} of ${jobs} jobs completed`);
  return { jobs, loops: LOOPS, ms, jobsPerSecond: jobs / (ms / 1000), usPerJob: (ms * 1000) / jobs };
}
