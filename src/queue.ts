import { CONFIG_KEY_NAMES, CONFIG_KEYS, displayConfigValue, normalizeConfigKey, resolveConfig, validateConfigValue, type Config, type ConfigKey } from './core/config';
import { NotFoundError, UsageError } from './core/errors';
import { JOB_STATES, type Attempt, type Job, type OutputChunk } from './core/job';
import { parseJobSpec, type JobSpecInput, type ParsedJobSpec } from './core/job-spec';
import { validateQueueName, type QueueRecord } from './core/queue-settings';
import { queueSettingsChange, type QueueSettingsInput } from './core/queue-settings-input';
import type { CancelResult, EnqueueResult } from './core/records';
import { isWorkerAlive, workerStaleAfterMs } from './core/worker-liveness';
import { thisHost } from './platform/process-info';
import type { NewSchedule, Schedule, ScheduleSpecInput } from './core/schedule';
import type { JobPage, Store } from './store/store';
import type { ListedWorker, QueueStats, QueueStatus } from './queue-records';
import { parseFinishedState, parseSignal, parseState } from './queue-inputs';

export type { ListedWorker, QueueStats, QueueStatus } from './queue-records';
export { parseFinishedState, parseSignal, parseState } from './queue-inputs';

/**
 * The operations people perform on a queue, shared by the CLI, the dashboard and the library API: they call these,
 * never the store. It speaks only to the Store interface, so it is the same on every database. (`store` stays
 * reachable for what runs workers, which take the store itself.)
 */
export class Queue {
  constructor(readonly store: Store) {}

  /** Where the store is, for messages (a file path, or a URL without its password). */
  get location(): string {
    return this.store.location;
  }

  /** The store's current time in epoch ms: what relative times ("2m ago") are measured from. */
  async now(): Promise<number> {
    return this.store.now();
  }

  /**
   * Enqueues one or many jobs in one transaction. A duplicate id is an error unless `ifNotExists` (or every spec asked
   * for it), in which case the existing job is returned with `created: false`.
   */
  async enqueue(specs: ParsedJobSpec[], options: { ifNotExists?: boolean } = {}): Promise<EnqueueResult[]> {
    if (specs.length === 0) throw new UsageError('nothing to enqueue: no jobs given');
    const ifNotExists = options.ifNotExists === true || specs.every((spec) => spec.ifNotExists);
    return this.store.enqueue({ jobs: specs.map((spec) => spec.job), ifNotExists });
  }

  /**
   * Validates and enqueues jobs given as plain objects, the same shape as the CLI's JSON
   * (`{ command, id?, queue?, max_retries?, priority?, run_at?, delay?, timeout?, cwd?, env?, depends_on? }`).
   * A job without `cwd` runs in this process's working directory.
   */
  async add(input: JobSpecInput | JobSpecInput[], options: { ifNotExists?: boolean } = {}): Promise<Job[]> {
    const specs = (Array.isArray(input) ? input : [input]).map((spec) => parseJobSpec(spec, process.cwd()));
    return (await this.enqueue(specs, options)).map((result) => result.job);
  }

  async getJob(id: string): Promise<Job> {
    const job = await this.store.getJob({ id });
    if (!job) throw new NotFoundError(`no job with id '${id}'; see 'queuectl list'`);
    return job;
  }

  /** The jobs of `ids` that exist (in no particular order), in one query however many ids. */
  async getJobs(ids: string[]): Promise<Job[]> {
    return ids.length === 0 ? [] : this.store.getJobs({ ids });
  }

  /**
   * Calls `onEnd` when one of `jobIds` reaches its end (completed, dead, cancelled) in any process (and possibly on
   * other jobs' ends): on SQLite through a file beside the database, on PostgreSQL by LISTEN. Returns the function
   * that unsubscribes.
   */
  async subscribeToEnds(jobIds: string[], onEnd: () => void): Promise<() => Promise<void>> {
    return this.store.subscribeToEnds({ jobIds, onEnd });
  }

  /** Jobs newest first: in `state`, of `queue`, whose command contains `command`. */
  async list(options: { state?: string; queue?: string; limit?: number; offset?: number; command?: string } = {}): Promise<Job[]> {
    // Every state named: each is read newest first through its index, where "no filter" would sort the whole table.
    const states = options.state === undefined ? [...JOB_STATES] : [parseState(options.state)];
    const queue = optionalQueueName(options.queue);
    return this.store.listJobs({ states, queue, limit: options.limit ?? 50, offset: options.offset, commandContains: options.command });
  }

  /**
   * Counts per state, workers, the oldest due job and the next run, with every queue's counts and settings. With
   * `queue`, the counts and workers are that queue's (a queue no job names and nothing was set on is a NotFoundError).
   */
  async status(options: { queue?: string } = {}): Promise<QueueStatus> {
    const name = optionalQueueName(options.queue);
    const [summary, workers, queues] = await Promise.all([this.store.countJobsCapped({ cap: COUNT_CAP }), this.workers(), this.store.listQueues({ cap: COUNT_CAP })]);
    const selected = name === undefined ? null : (queues.find((record) => record.name === name) ?? null);
    if (name !== undefined && selected === null) throw noQueue(name);
    const live = workers.filter((worker) => worker.alive && (selected === null || worker.queues === null || worker.queues.includes(selected.name)));
    const byHost: Record<string, number> = {};
    for (const worker of live) byHost[worker.host] = (byHost[worker.host] ?? 0) + 1;
    return {
      counts: selected === null ? summary.counts : selected.counts,
      cappedStates: selected === null ? summary.capped : selected.capped,
      activeWorkers: live.length,
      busyWorkers: live.filter((worker) => worker.state === 'busy').length,
      workersByHost: byHost,
      // The store times these across every queue: for one queue they are not known.
      oldestPendingAgeMs: selected !== null || summary.oldestPendingAt === null ? null : Math.max(0, summary.now - summary.oldestPendingAt),
      nextRunInMs: selected !== null || summary.nextRunAt == null ? null : Math.max(0, summary.nextRunAt - summary.now),
      workers,
      queues,
      queue: selected,
    };
  }

  /**
   * Every registered worker, and whether it is alive by the one rule (core/worker-liveness.ts). Only reads: a gone
   * worker's registration is removed by a running worker's reaper, or by `worker stop`.
   */
  async workers(): Promise<ListedWorker[]> {
    const config = await this.config();
    const here = thisHost();
    const workers = await this.store.listWorkers({ staleAfterMs: workerStaleAfterMs(config['lease-timeout'] * 1000) });
    return workers.map((worker) => ({ ...worker, alive: isWorkerAlive(worker, here) }));
  }

  /** A job and its attempt history. */
  async show(id: string): Promise<{ job: Job; attempts: Attempt[] }> {
    const job = await this.getJob(id);
    return { job, attempts: await this.store.listAttempts({ jobId: id }) };
  }

  /** Captured output of one attempt (the last by default). */
  async logs(id: string, attemptNumber?: number): Promise<{ job: Job; attempt: Attempt | null; chunks: OutputChunk[] }> {
    const { job, attempts } = await this.show(id);
    const attempt = attemptNumber === undefined ? (attempts[attempts.length - 1] ?? null) : (attempts.find((a) => a.attempt === attemptNumber) ?? null);
    if (attemptNumber !== undefined && attempt === null) {
      throw new NotFoundError(`job '${id}' has no attempt ${attemptNumber}; it has ${attempts.length === 0 ? 'none yet' : `1 to ${attempts[attempts.length - 1]!.attempt}`}`);
    }
    const chunks = attempt === null ? [] : await this.store.readOutput({ jobId: id, attempt: attempt.attempt });
    return { job, attempt, chunks };
  }

  /** Output chunks of one attempt written after chunk `afterSeq`, oldest first: what a follower has not seen yet. */
  async outputSince(id: string, attempt: number, afterSeq: number): Promise<OutputChunk[]> {
    return this.store.readOutput({ jobId: id, attempt, afterSeq });
  }

  /** Dead jobs, newest first (of `queue`, when given). */
  async dlqList(options: { limit?: number; queue?: string } = {}): Promise<Job[]> {
    return this.store.listJobs({ states: ['dead'], limit: options.limit ?? 1000, queue: optionalQueueName(options.queue) });
  }

  async dlqRetry(options: { ids?: string[]; all?: boolean }): Promise<string[]> {
    if (!options.all && (!options.ids || options.ids.length === 0)) throw new UsageError('dlq retry: give job ids or --all');
    return this.store.retryJobs({ ids: options.ids, allDead: options.all === true });
  }

  /**
   * Re-runs finished jobs, completed ones too (pueue's `restart`): each goes back to pending with its attempts reset
   * and its history kept. All or nothing: an unknown id (NotFoundError) or a job not finished yet (ConflictError)
   * changes nothing.
   */
  async retry(ids: string[]): Promise<string[]> {
    if (ids.length === 0) throw new UsageError('retry: give at least one job id');
    // An id given twice is one job to re-run, not a conflict with itself.
    return this.store.retryJobs({ ids: [...new Set(ids)], includeCompleted: true });
  }

  async dlqClear(): Promise<number> {
    return this.store.clearDead();
  }

  async cancel(ids: string[], signal = 'SIGTERM'): Promise<CancelResult[]> {
    if (ids.length === 0) throw new UsageError('cancel: give at least one job id');
    return this.store.cancel({ ids, signal: parseSignal(signal) });
  }

  /** Deletes finished jobs in `states` (of `queue`, when given) that finished more than `olderThanMs` ago. */
  async purge(options: { states: string[]; olderThanMs: number; dryRun?: boolean; queue?: string }): Promise<number> {
    const states = options.states.map(parseFinishedState);
    return this.store.purge({ states, olderThanMs: options.olderThanMs, dryRun: options.dryRun === true, queue: optionalQueueName(options.queue) });
  }

  // --- Named queues ----------------------------------------------------------------------------------------------

  /** Every queue that has jobs or settings, by name: its jobs per state, running jobs, limit, rate and paused flag. */
  async listQueues(): Promise<QueueRecord[]> {
    return this.store.listQueues();
  }

  /**
   * Caps how many of a queue's jobs run at once across all workers (`concurrency`; 0 or null lifts it) and how many
   * start per interval (`rate`: `'10/s'`, `{ count, periodMs }`, or null to lift it). Settings left out stay as they
   * are; the queue need not have jobs yet. Idle workers are woken to take what a lifted limit frees.
   */
  async setQueue(name: string, settings: QueueSettingsInput): Promise<QueueRecord> {
    return this.store.setQueue({ name: validateQueueName(name), ...queueSettingsChange(settings) });
  }

  /** A paused queue's jobs are not claimed; its running jobs finish. */
  async pauseQueue(name: string): Promise<QueueRecord> {
    return this.store.setQueue({ name: validateQueueName(name), paused: true });
  }

  /** Its jobs are claimed again; idle workers are woken. A queue that is not paused is left as it is. */
  async resumeQueue(name: string): Promise<QueueRecord> {
    validateQueueName(name);
    const record = (await this.store.listQueues()).find((queue) => queue.name === name);
    if (record === undefined) throw noQueue(name);
    return record.paused ? this.store.setQueue({ name, paused: false }) : record;
  }

  async config(): Promise<Config> {
    return resolveConfig(await this.store.getConfig());
  }

  /** Every key with its effective value and where it came from. */
  async configList(): Promise<{ key: ConfigKey; value: string; source: 'store' | 'default'; description: string }[]> {
    const stored = await this.store.getConfig();
    return CONFIG_KEY_NAMES.map((key) => ({
      key,
      value: displayConfigValue(key, stored[key]),
      source: stored[key] === undefined ? 'default' : 'store',
      description: CONFIG_KEYS[key].description,
    }));
  }

  async configGet(rawKey: string): Promise<string> {
    const key = normalizeConfigKey(rawKey);
    return displayConfigValue(key, (await this.store.getConfig())[key]);
  }

  async configSet(rawKey: string, value: string): Promise<{ key: ConfigKey; value: string }> {
    const key = normalizeConfigKey(rawKey);
    const text = validateConfigValue(key, value);
    await this.store.setConfig({ key, value: text });
    return { key, value: text };
  }

  async configUnset(rawKey: string): Promise<boolean> {
    return this.store.unsetConfig({ key: normalizeConfigKey(rawKey) });
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  // --- Schedules (recurring jobs) ----------------------------------------------------------------------------------
  // ./schedule loads croner: imported on first use, so commands without schedules never load it.

  /**
   * Stores a validated schedule (see parseScheduleSpec); it first fires at its first tick after now, by the store's
   * clock. A name that exists is a ConflictError unless `replace`.
   */
  async scheduleAdd(schedule: NewSchedule, options: { replace?: boolean } = {}): Promise<Schedule> {
    const { firstRunAt } = await import('./core/schedule');
    const nextRunAt = firstRunAt(schedule, await this.store.now());
    return this.store.addSchedule({ schedule, nextRunAt, replace: options.replace === true });
  }

  /**
   * Validates and stores a schedule given as a plain object, the same shape as `schedule add`'s JSON: `name`, one of
   * `cron` (with `tz`) or `every`, `no_overlap?`, `catch_up?`, and the job's fields (`command`, `queue`, ...). A job
   * without `cwd` runs in this process's working directory. A name that exists is a ConflictError unless `replace`.
   */
  async addSchedule(input: ScheduleSpecInput, options: { replace?: boolean } = {}): Promise<Schedule> {
    const { parseScheduleSpec } = await import('./core/schedule');
    return this.scheduleAdd(parseScheduleSpec(input, { now: Date.now(), defaultCwd: process.cwd() }), options);
  }

  async scheduleList(): Promise<Schedule[]> {
    return this.store.listSchedules();
  }

  async scheduleShow(name: string): Promise<Schedule> {
    const schedule = await this.store.getSchedule({ name });
    if (!schedule) throw noSchedule(name);
    return schedule;
  }

  async scheduleRemove(name: string): Promise<void> {
    if (!(await this.store.removeSchedule({ name }))) throw noSchedule(name);
  }

  /** Pausing stops its ticks; resuming fires from the next tick after now (ticks passed while paused do not run). */
  async schedulePause(name: string, paused: boolean): Promise<Schedule> {
    const schedule = await this.scheduleShow(name);
    const { firstRunAt } = await import('./core/schedule');
    const updated = await this.store.setSchedulePaused({ name, paused, nextRunAt: firstRunAt(schedule, await this.store.now()) });
    if (!updated) throw noSchedule(name);
    return updated;
  }

  /** Enqueues one job of the schedule now, outside its cadence. */
  async scheduleRun(name: string): Promise<Job> {
    const schedule = await this.scheduleShow(name);
    const { jobForManualRun } = await import('./core/schedule');
    return this.store.runSchedule({ name, job: jobForManualRun(schedule, await this.store.now()) });
  }

  // --- Stats, metrics and the dashboard's reads ---------------------------------------------------------------------
  // Bounded on a large store: counts stop at COUNT_CAP per state, pages are keyset pages, stats read one window.

  /** Throughput, outcomes, durations and per-worker counts over the last `windowMs`, with depth per state and workers. */
  async stats(options: { windowMs?: number } = {}): Promise<QueueStats> {
    const windowMs = options.windowMs ?? 3_600_000;
    const [summary, finished, workers] = await Promise.all([
      this.store.countJobsCapped({ cap: COUNT_CAP }),
      this.store.finishedStats({ windowMs }),
      this.workers(),
    ]);
    const total = finished.succeeded + finished.failed;
    return {
      windowMs,
      now: finished.now,
      counts: summary.counts,
      cappedStates: summary.capped,
      oldestPendingAgeMs: summary.oldestPendingAt === null ? null : Math.max(0, summary.now - summary.oldestPendingAt),
      finished,
      finishedPerMinute: total / (windowMs / 60_000),
      successRate: total === 0 ? null : finished.succeeded / total,
      failureRate: total === 0 ? null : finished.failed / total,
      workers,
    };
  }

  /** One page of jobs, newest first, for the dashboard: in `state`, matching `search` (id or command), after `after`. */
  async jobPage(options: { state?: string; search?: string; limit?: number; after?: string } = {}): Promise<JobPage> {
    const states = options.state === undefined || options.state === '' ? undefined : [parseState(options.state)];
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError(`limit: expected 1 to 500, got '${options.limit}'`);
    return this.store.pageJobs({ states, search: options.search?.slice(0, 200), limit, after: options.after });
  }

  /** Bounds every later store call to about `ms` (null: unbounded), so a server's request fails instead of hanging. */
  setCallDeadline(ms: number | null): void {
    this.store.setCallDeadline({ ms });
  }

  /** Deletes dead jobs by id, with their history; all or nothing. */
  async dlqDelete(ids: string[]): Promise<string[]> {
    if (ids.length === 0) throw new UsageError('dlq delete: give at least one job id');
    return this.store.deleteDeadJobs({ ids });
  }

  /** The Prometheus text of the queue (exact counts: a scrape may take longer than the dashboard's reads). */
  async metrics(): Promise<string> {
    const { metricsText, DURATION_BUCKETS_S } = await import('./core/metrics-text');
    const [summary, totals, workers] = await Promise.all([
      this.store.countJobs(),
      this.store.attemptTotals({ bucketsMs: DURATION_BUCKETS_S.map((s) => s * 1000) }),
      this.workers(),
    ]);
    const live = workers.filter((worker) => worker.alive);
    return metricsText({
      counts: summary.counts,
      finished: totals.byOutcome,
      histogram: totals.histogram,
      durationCount: totals.count,
      durationSumMs: totals.sumMs,
      activeWorkers: live.length,
      busyWorkers: live.filter((worker) => worker.state === 'busy').length,
      oldestPendingAgeMs: summary.oldestPendingAt === null ? null : Math.max(0, summary.now - summary.oldestPendingAt),
    });
  }
}

/**
 * Counts shown by status, stats and the dashboard stop here per state ("10000+"): counting is a walk of the state's
 * index entries, ~120 ms per million on SQLite, and these answer within 50 ms at any size. /metrics counts exactly.
 */
export const COUNT_CAP = 10_000;

function optionalQueueName(name: string | undefined): string | undefined {
  return name === undefined ? undefined : validateQueueName(name);
}

function noQueue(name: string): NotFoundError {
  return new NotFoundError(`no queue named '${name}': no job names it and nothing was set on it; see 'queuectl queue list'`);
}

function noSchedule(name: string): NotFoundError {
  return new NotFoundError(`no schedule named '${name}'; see 'queuectl schedule list'`);
}

