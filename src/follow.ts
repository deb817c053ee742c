import { isTerminal, type Job, type OutputChunk } from './core/job';
import type { Queue } from './queue';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until every job is finished (completed, dead or cancelled) or `timeoutMs` passes; returns the jobs as last
 * seen. For library users; unknown ids throw NotFoundError.
 */
export async function wait(queue: Queue, ids: string[], options: { timeoutMs?: number; pollMs?: number } = {}): Promise<{ jobs: Job[]; timedOut: boolean }> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  for (;;) {
    const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
    if (jobs.every((job) => isTerminal(job.state))) return { jobs, timedOut: false };
    if (Date.now() >= deadline) return { jobs, timedOut: true };
    await sleep(Math.min(options.pollMs ?? 100, Math.max(1, deadline - Date.now())));
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
