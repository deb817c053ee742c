import { NotFoundError } from './core/errors';
import { isTerminal, type Job, type OutputChunk } from './core/job';
import type { Queue } from './queue';
import { WakeSignal } from './wake-signal';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * How long `wait` goes without looking when no wake-up comes: what a lost wake-up (or a store that does not announce
 * the end of a job) costs at most.
 */
export const WAIT_FALLBACK_POLL_MS = 1_000;
/** The least time between two looks: a burst of wake-ups (many jobs ending at once, a stream of enqueues) costs one. */
const MIN_LOOK_GAP_MS = 50;

/**
 * Waits until every job is finished (completed, dead or cancelled) or `timeoutMs` passes; returns the jobs as last
 * seen, in the order of `ids`. Each look is one query for all the jobs still open, made when the store announces a
 * job's end and otherwise every `pollMs` (default 1 s). A job counts as finished once seen finished. Unknown ids throw
 * NotFoundError, as does a job deleted while waited on. `onLook` runs after each look that did not end the wait.
 * For library users; `queuectl wait` is built on it.
 */
export async function wait(
  queue: Queue,
  ids: string[],
  options: { timeoutMs?: number; pollMs?: number; onLook?: () => Promise<void> } = {},
): Promise<{ jobs: Job[]; timedOut: boolean }> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? WAIT_FALLBACK_POLL_MS;
  const signal = new WakeSignal();
  // Subscribed before the first look, so a job that ends between that look and the wait for a wake-up is not missed.
  const unsubscribe = await queue.subscribeToEnds([...new Set(ids)], signal.wake);
  try {
    const seen = new Map<string, Job>();
    let open = [...new Set(ids)];
    for (;;) {
      const lookedAt = Date.now();
      const found = new Map((await queue.getJobs(open)).map((job) => [job.id, job]));
      const gone = open.find((id) => !found.has(id));
      if (gone !== undefined) {
        throw new NotFoundError(seen.has(gone) ? `job '${gone}' was deleted while waiting for it` : `no job with id '${gone}'; see 'queuectl list'`);
      }
      for (const job of found.values()) seen.set(job.id, job);
      open = open.filter((id) => !isTerminal(found.get(id)!.state));
      const jobs = ids.map((id) => seen.get(id)!);
      if (open.length === 0) return { jobs, timedOut: false };
      if (Date.now() >= deadline) return { jobs, timedOut: true };
      await options.onLook?.();
      await signal.next(Math.max(1, Math.min(pollMs, deadline - Date.now())));
      await sleep(Math.max(0, Math.min(lookedAt + MIN_LOOK_GAP_MS, deadline) - Date.now()));
    }
  } finally {
    await unsubscribe();
  }
}

/** One piece of a job's output, with the attempt that wrote it. */
export interface FollowedChunk extends OutputChunk {
  attempt: number;
}

/**
 * Yields a job's output as its workers write it, following each new attempt, until the job finishes; the generator's
 * return value is the finished job. `for await (const chunk of follow(queue, id)) process.stdout.write(chunk.data)`.
 */
export async function* follow(queue: Queue, id: string, options: { pollMs?: number } = {}): AsyncGenerator<FollowedChunk, Job> {
  let attempt: number | null = null;
  let lastSeq = 0;
  for (;;) {
    const { job, attempts } = await queue.show(id);
    const latest = attempts[attempts.length - 1]?.attempt ?? null;
    for (const number of latest === null ? [] : attemptsFrom(attempt ?? latest, latest)) {
      if (number !== attempt) lastSeq = 0;
      attempt = number;
      for (const chunk of await queue.outputSince(id, number, lastSeq)) {
        lastSeq = chunk.seq;
        yield { ...chunk, attempt: number };
      }
    }
    if (isTerminal(job.state)) return job;
    await sleep(options.pollMs ?? 100);
  }
}

function attemptsFrom(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
