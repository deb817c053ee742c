import { isTerminal, type Job } from '../core/job';
import { wait } from '../follow';
import type { Queue } from '../queue';
import { WorkerNotice } from './worker-notice';

/** How often a follower looks for new output; it reads only chunks it has not seen. */
const POLL_MS = 100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Streams a job's output as the worker writes it to the store (from any host), following each new attempt, until the
 * job finishes. Returns the exit code `enqueue --wait` uses: the command's own exit code when it completed or ended
 * dead after exiting non-zero; 1 otherwise.
 */
export async function followJob(queue: Queue, id: string, options: { attempt?: number; exitWithJobCode?: boolean } = {}): Promise<number> {
  let attempt = options.attempt ?? null;
  let lastSeq = 0;
  const notice = new WorkerNotice(queue);
  for (;;) {
    const { job, attempts } = await queue.show(id);
    const latest = attempts[attempts.length - 1]?.attempt ?? null;
    if (attempt === null && latest !== null) attempt = latest;
    if (attempt !== null) {
      lastSeq = await printNewOutput(queue, id, attempt, lastSeq);
      // A retry started: finish the old attempt's output (done above), then follow the new one.
      if (options.attempt === undefined && latest !== null && latest > attempt) {
        attempt = latest;
        lastSeq = 0;
        process.stderr.write(`queuectl: job ${id} attempt ${attempt} started\n`);
        continue;
      }
    }
    const finished = isTerminal(job.state) || (options.attempt !== undefined && attempts.find((a) => a.attempt === options.attempt)?.finishedAt);
    if (finished) {
      if (attempt !== null) await printNewOutput(queue, id, attempt, lastSeq);
      return exitCodeOf(job);
    }
    await notice.check();
    await sleep(POLL_MS);
  }
}

async function printNewOutput(queue: Queue, id: string, attempt: number, afterSeq: number): Promise<number> {
  let seq = afterSeq;
  for (const chunk of await queue.outputSince(id, attempt, afterSeq)) {
    (chunk.stream === 'stderr' ? process.stderr : process.stdout).write(chunk.data);
    seq = chunk.seq;
  }
  return seq;
}

export function exitCodeOf(job: Job): number {
  if (job.state === 'completed') return 0;
  if (job.exitCode !== null && job.exitCode !== 0) return job.exitCode;
  return 1;
}

/**
 * Waits until every job is finished or the deadline passes (see `wait`: one query per store wake-up for the jobs still
 * open, and a slow fallback poll); says once on stderr if no worker is running. Returns the jobs as last seen.
 */
export async function waitForJobs(queue: Queue, ids: string[], timeoutMs: number | null): Promise<{ jobs: Job[]; timedOut: boolean }> {
  const notice = new WorkerNotice(queue);
  return wait(queue, ids, { timeoutMs: timeoutMs ?? undefined, onLook: () => notice.check() });
}
