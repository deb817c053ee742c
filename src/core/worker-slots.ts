import { UsageError } from './errors';
import { validateQueueName } from './queue-settings';

/** The most jobs one worker process runs at once (`--concurrency`): past that, start more workers. */
export const MAX_WORKER_CONCURRENCY = 1000;

/** A worker's slots (`--concurrency`, WorkerOptions.concurrency): a whole number from 1 to MAX_WORKER_CONCURRENCY. */
export function validateWorkerConcurrency(value: unknown, field = '--concurrency'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_WORKER_CONCURRENCY) {
    throw new UsageError(`${field}: expected a whole number of jobs from 1 to ${MAX_WORKER_CONCURRENCY}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The queues a worker serves (WorkerOptions.queues): null (every queue), or one or more valid names, without repeats. */
export function validateWorkerQueues(value: unknown, field = 'queues'): string[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0) throw new UsageError(`${field}: expected a list of one or more queue names, or null for every queue`);
  return [...new Set(value.map((name) => validateQueueName(name, field)))];
}
