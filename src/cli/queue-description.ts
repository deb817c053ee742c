import type { Job } from '../core/job';
import { DEFAULT_QUEUE, formatRate, type QueueRecord } from '../core/queue-settings';

/** A queue's settings in words, e.g. `limit 3, rate 10/s, paused` or `no limit, no rate`. */
export function describeQueueSettings(record: QueueRecord): string {
  return [
    record.concurrency === null ? 'no limit' : `limit ${record.concurrency}`,
    record.rate === null ? 'no rate' : `rate ${formatRate(record.rate)}`,
    ...(record.paused ? ['paused'] : []),
  ].join(', ');
}

/**
 * The `queue` column of a job table: shown only when it tells something, i.e. when no `--queue` filter was given and
 * some job is in a queue other than `default` (a store that never used named queues lists as it always did).
 */
export function queueColumn(jobs: Job[], filter: string | undefined): { header: string[]; cell: (job: Job) => string[] } {
  const shown = filter === undefined && jobs.some((job) => job.queue !== DEFAULT_QUEUE);
  return shown ? { header: ['queue'], cell: (job) => [job.queue] } : { header: [], cell: () => [] };
}
