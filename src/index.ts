/**
 * queuectl as a library: the same queue the CLI drives, for TypeScript programs.
 *
 * ```ts
 * import { openQueue } from 'queuectl';
 * const queue = await openQueue();                       // default SQLite file, or a path / postgres:// URL
 * const [job] = await queue.add({ command: './backup.sh', max_retries: 5 });
 * await queue.add({ command: 'curl -fsS https://api.example.com/sync', queue: 'api' });
 * await queue.setQueue('api', { concurrency: 3, rate: '10/s' }); // across every worker and host
 * await queue.addSchedule({ name: 'nightly', cron: '0 3 * * *', command: './report.sh' }); // fired by the workers
 * console.log((await queue.status()).counts);
 * await queue.close();
 * ```
 */
import { Queue } from './queue';
import { openStore, resolveStoreLocation, type OpenStoreOptions } from './store/open-store';

export { Queue, parseState, parseSignal, type QueueStatus, type ListedWorker } from './queue';
export type { CancelResult, EnqueueResult, WorkerRecord, WorkerState, StopMode } from './core/records';
export { DEFAULT_QUEUE, formatRate, parseRate, type QueueRecord, type RateLimit } from './core/queue-settings';
export type { QueueSettingsInput } from './core/queue-settings-input';
export { parseJobSpec, parseJobJson, type JobSpecInput, type NewJob, type ParsedJobSpec } from './core/job-spec';
// Types only: the schedule code (and croner) loads when a schedule is first used.
export type { Schedule, NewSchedule, ScheduleSpecInput } from './core/schedule';
export { JOB_STATES, TERMINAL_STATES, ATTEMPT_OUTCOMES, type Job, type JobState, type Attempt, type AttemptOutcome, type OutputChunk } from './core/job';
export { CONFIG_KEYS, type Config, type ConfigKey } from './core/config';
export { QueueError, UsageError, NotFoundError, ConflictError, StoreUnavailableError } from './core/errors';
export { jobToJson, attemptToJson, workerToJson, queueToJson, type JobJson, type QueueJson } from './core/serialize';
export { Worker, WORKER_POOL_SIZE, type WorkerOptions } from './worker/worker';
export { openStore, defaultDatabasePath, resolveStoreLocation, type OpenStoreOptions } from './store/open-store';
export type { Store } from './store/store';
export { wait, follow, type FollowedChunk } from './follow';

/** Opens a queue on a SQLite file path or a `postgres://` URL (default: `QUEUECTL_DB`, else the default file). */
export async function openQueue(location?: string, options: OpenStoreOptions = {}): Promise<Queue> {
  return new Queue(await openStore(resolveStoreLocation(location), options));
}
