import { Pool, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg';
import { resolveConfig } from '../../core/config';
import { planEnqueue } from '../../core/dependencies';
import { ConflictError, isQueueError, NotFoundError, StoreUnavailableError, UsageError } from '../../core/errors';
import { emptyCounts, isTerminal, type Job, type JobState, type OutputChunk, type OutputStream } from '../../core/job';
import type { NewJob } from '../../core/job-spec';
import type { AttemptResult, NextState } from '../../core/transitions';
import type { OpenStoreOptions } from '../open-store';
import type {
  CancelResult, ClaimedJob, EnqueueResult, HeartbeatReply, JobCountsSummary, LeaseRecord, StopMode, Store,
  WorkerIdentity, WorkerRecord, WorkerState,
} from '../store';
import { clientConfig, isConnectionFault, isRetryable, reasonOf, redactUrl, translateError } from './connection';
import { WakeListener } from './listener';
import { migrate } from './migrations';
import { compileQueries, SCHEMA_NAME_PATTERN, type Queries } from './queries';
import { toAttempt, toJob, toLease, toOutputChunk, toWorker, type AttemptRow, type JobRow, type OutputRow, type WorkerRow } from './rows';

/** Rows per multi-row INSERT of a bulk enqueue: few round trips, arrays still small enough to build quickly. */
const ENQUEUE_BATCH = 5_000;
/** Statements run before the schema is complete, or once per process: never prepared. */
const MIGRATION_STATEMENTS = new Set(['MIGRATION_LOCK', 'CREATE_SCHEMA', 'CREATE_MIGRATIONS_TABLE', 'SCHEMA_VERSION', 'RECORD_MIGRATION']);
/** A deadlock or serialization failure is retried this many times before it surfaces. */
const MAX_TX_RETRIES = 5;

type Query = <R extends QueryResultRow = QueryResultRow>(sql: string, values?: unknown[]) => Promise<R[]>;

/**
 * The shared store: one PostgreSQL schema, reached by every host. Time is always the database's `now()`, so hosts
 * with skewed clocks agree on leases, backoff and staleness; `options.clock` and `options.durability` do not apply
 * (a PostgreSQL commit is durable). Wake-ups travel by NOTIFY on a channel named after the schema.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly Q: Queries;
  private readonly channel: string;
  private readonly listeners = new Set<WakeListener>();
  /** Statement text -> prepared statement name: each connection parses and plans a statement once. */
  private readonly prepared: Map<string, string>;

  private constructor(private readonly pool: Pool, private readonly url: string, readonly location: string, schema: string) {
    this.Q = compileQueries(schema);
    this.channel = `queuectl_${schema}`;
    this.prepared = new Map(
      Object.entries(this.Q).filter(([key]) => !MIGRATION_STATEMENTS.has(key)).map(([key, sql]) => [sql, `queuectl_${key.toLowerCase()}`]),
    );
  }

  /**
   * Connects and migrates the schema `options.schema ?? $QUEUECTL_SCHEMA ?? 'queuectl'`.
   * Throws UsageError for a bad schema name and StoreUnavailableError when the server cannot be used.
   */
  static async open(url: string, options: OpenStoreOptions = {}): Promise<Store> {
    const schema = options.schema ?? process.env.QUEUECTL_SCHEMA ?? 'queuectl';
    if (!SCHEMA_NAME_PATTERN.test(schema)) {
      throw new UsageError(`schema ${JSON.stringify(schema)} is not a simple name (1-54 letters, digits or _, not starting with a digit); check QUEUECTL_SCHEMA`);
    }
    const location = redactUrl(url);
    let pool: Pool;
    try {
      pool = new Pool({ ...clientConfig(url), max: 4, idleTimeoutMillis: 30_000 });
    } catch (err) {
      throw new StoreUnavailableError(`cannot connect to PostgreSQL at ${location}: ${reasonOf(err)}; check --db / QUEUECTL_DB`);
    }
    // An idle connection that breaks must never take the process down; the next checkout opens a fresh one.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, url, location, schema);
    try {
      await pool.query(store.Q.NOW);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new StoreUnavailableError(
        `cannot connect to PostgreSQL at ${location}: ${reasonOf(err)}; check --db / QUEUECTL_DB and that the server is running`,
      );
    }
    try {
      await migrate({
        schema,
        location,
        queries: store.Q,
        query: async (sql, values) => (await pool.query<{ version: number }>(sql, values)).rows,
        transaction: (fn) => store.runTransaction((query) => fn(query)),
      });
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (isQueueError(err)) throw err;
      const what = isConnectionFault(err) ? 'lost connection to' : 'cannot set up schema "' + schema + '" in';
      throw new StoreUnavailableError(`${what} PostgreSQL at ${location}: ${reasonOf(err)}; check --db / QUEUECTL_DB and the role's privileges`);
    }
    return store;
  }

  // --- Plumbing -----------------------------------------------------------------------------------------------------

  /** One statement on any pooled connection. */
  private async query<R extends QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(this.statement(sql, values))).rows;
    } catch (err) {
      throw translateError(err, this.location);
    }
  }

  private statement(sql: string, values: unknown[] | undefined): QueryConfig {
    return { name: this.prepared.get(sql), text: sql, values };
  }

  private async execute(sql: string, values?: unknown[]): Promise<number> {
    try {
      return (await this.pool.query(this.statement(sql, values))).rowCount ?? 0;
    } catch (err) {
      throw translateError(err, this.location);
    }
  }

  /** `runTransaction` with driver errors turned into ours. */
  private async transaction<T>(fn: (query: Query, client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.runTransaction(fn);
    } catch (err) {
      throw translateError(err, this.location);
    }
  }

  /**
   * Runs `fn` in a READ COMMITTED transaction on one connection; a deadlock or serialization failure runs it again.
   * `fn` may therefore run more than once and must only talk to the database.
   */
  private async runTransaction<T>(fn: (query: Query, client: PoolClient) => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      const client = await this.pool.connect();
      // A checked-out client has no error listener of the pool's: without ours a dropped connection would crash us.
      const onError = (): void => undefined;
      client.on('error', onError);
      let broken: Error | undefined;
      try {
        const query: Query = async <R extends QueryResultRow>(sql: string, values?: unknown[]) => (await client.query<R>(this.statement(sql, values))).rows;
        await client.query('BEGIN');
        const result = await fn(query, client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (isConnectionFault(err)) broken = err as Error;
        else await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
        if ((isRetryable(err) || err instanceof ConcurrentInsertError) && tries < MAX_TX_RETRIES) continue;
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  async now(): Promise<number> {
    return (await this.query<{ now: number }>(this.Q.NOW))[0]!.now;
  }

  async close(): Promise<void> {
    const listeners = [...this.listeners];
    this.listeners.clear();
    await Promise.all(listeners.map((listener) => listener.close()));
    await this.pool.end().catch(() => undefined);
  }

  // --- Jobs ---------------------------------------------------------------------------------------------------------

  async enqueue(params: { jobs: NewJob[]; ifNotExists: boolean }): Promise<EnqueueResult[]> {
    if (params.jobs.length === 0) return [];
    const hasDependencies = params.jobs.some((job) => job.dependsOn.length > 0);
    return this.transaction(async (query) => {
      const now = (await query<{ now: number }>(this.Q.NOW))[0]!.now;
      // With dependencies, existing jobs among the batch's ids and dependencies are looked up first and stay
      // share-locked until we commit: a dependency cannot finish (or vanish) unseen by the jobs about to wait on it.
      // Without, the insert's ON CONFLICT alone finds the ids that exist: a bulk enqueue makes no extra lookups.
      const states = new Map<string, JobState>();
      if (hasDependencies) {
        const known = [...new Set(params.jobs.flatMap((job) => [job.id, ...job.dependsOn]))];
        for (const row of await query<{ id: string; state: JobState }>(this.Q.LOCK_KNOWN_STATES, [known])) states.set(row.id, row.state);
      }

      // A job whose id exists (in the store, or earlier in this batch) is never planned: with ifNotExists it is returned
      // as it is, and its real state, not a planned one, decides the state of new jobs that depend on it.
      const fresh = new Map<string, NewJob>();
      for (const job of params.jobs) {
        if (!fresh.has(job.id) && !states.has(job.id)) fresh.set(job.id, job);
        else if (!params.ifNotExists && hasDependencies) throw conflict(job.id, fresh.has(job.id));
      }
      const newJobs = [...fresh.values()];
      const needsDefault = newJobs.some((job) => job.maxRetries === null);
      const defaultMaxRetries = needsDefault ? resolveConfig(await this.readConfig(query))['max-retries'] : 0;
      const plan = new Map(planEnqueue(newJobs, (id) => states.get(id)).map((planned) => [planned.job, planned]));

      // Insert in input order, not dependency order: seq is the claim's last tie-break ("oldest first").
      const created = new Map<NewJob, Job>();
      for (let start = 0; start < newJobs.length; start += ENQUEUE_BATCH) {
        const batch = newJobs.slice(start, start + ENQUEUE_BATCH);
        const records = batch.map((job) => {
          const { state, reason } = plan.get(job)!;
          return newJobRecord(job, state, reason, now, defaultMaxRetries);
        });
        const inserted = new Set((await query<{ id: string }>(this.Q.INSERT_JOBS, insertParams(records, now))).map((row) => row.id));
        batch.forEach((job, i) => {
          if (inserted.has(job.id)) created.set(job, records[i]!);
          // Planned as new, but another enqueue committed the id meanwhile: start over, and this time we see it.
          else if (hasDependencies) throw new ConcurrentInsertError();
        });
      }
      if (!params.ifNotExists) {
        // Name the first job of the input that could not be created, as one-by-one inserts would.
        const first = params.jobs.find((job) => !created.has(job));
        if (first !== undefined) throw conflict(first.id, created.has(fresh.get(first.id)!) && fresh.get(first.id) !== first);
      }

      const depJobs: string[] = [];
      const depIds: string[] = [];
      for (const job of created.values()) {
        for (const dep of job.dependsOn) {
          depJobs.push(job.id);
          depIds.push(dep);
        }
      }
      for (let start = 0; start < depJobs.length; start += ENQUEUE_BATCH) {
        await query(this.Q.INSERT_DEPS, [depJobs.slice(start, start + ENQUEUE_BATCH), depIds.slice(start, start + ENQUEUE_BATCH)]);
      }

      const existingIds = params.jobs.filter((job) => !created.has(job)).map((job) => job.id);
      const existing = new Map<string, Job>();
      if (existingIds.length > 0) {
        for (const row of await query<JobRow>(this.Q.GET_JOBS, [existingIds])) existing.set(row.id, toJob(row));
      }
      if (created.size > 0) await query(this.Q.NOTIFY, [this.channel]);
      return params.jobs.map((job): EnqueueResult => {
        const record = created.get(job);
        return record ? { job: record, created: true } : { job: existing.get(job.id)!, created: false };
      });
    });
  }

  async getJob(params: { id: string }): Promise<Job | null> {
    const row = (await this.query<JobRow>(this.Q.GET_JOB, [params.id]))[0];
    return row ? toJob(row) : null;
  }

  async listJobs(params: { states?: JobState[]; limit: number }): Promise<Job[]> {
    const rows = !params.states || params.states.length === 0
      ? await this.query<JobRow>(this.Q.LIST_JOBS, [params.limit])
      : await this.query<JobRow>(this.Q.LIST_JOBS_IN_STATES, [params.states, params.limit]);
    return rows.map(toJob);
  }

  async countJobs(): Promise<JobCountsSummary> {
    const [rows, oldest] = await Promise.all([
      this.query<{ state: JobState; n: number }>(this.Q.COUNT_JOBS),
      this.query<{ at: number | null; now: number }>(this.Q.OLDEST_PENDING),
    ]);
    const counts = emptyCounts();
    for (const row of rows) counts[row.state] = row.n;
    return { counts, oldestPendingAt: oldest[0]!.at, now: oldest[0]!.now };
  }

  async listAttempts(params: { jobId: string }) {
    return (await this.query<AttemptRow>(this.Q.LIST_ATTEMPTS, [params.jobId])).map(toAttempt);
  }

  async readOutput(params: { jobId: string; attempt: number; afterSeq?: number }): Promise<OutputChunk[]> {
    return (await this.query<OutputRow>(this.Q.READ_OUTPUT, [params.jobId, params.attempt, params.afterSeq ?? 0])).map(toOutputChunk);
  }

  // --- Worker side --------------------------------------------------------------------------------------------------

  async claim(params: { workerId: string; host: string; leaseMs: number }): Promise<ClaimedJob | null> {
    const row = (await this.query<JobRow>(this.Q.CLAIM_JOB, [params.workerId, params.leaseMs, params.host]))[0];
    return row ? { job: toJob(row), attempt: row.runs } : null;
  }

  async recordAttemptProcess(params: { jobId: string; attempt: number; workerId: string; pid: number; pidStart: string | null }): Promise<void> {
    await this.execute(this.Q.RECORD_ATTEMPT_PROCESS, [params.jobId, params.attempt, params.workerId, params.pid, params.pidStart]);
  }

  async appendOutput(params: { jobId: string; attempt: number; chunks: { stream: OutputStream; data: string }[]; limitBytes: number }): Promise<void> {
    if (params.chunks.length === 0) return;
    const { jobId, attempt, limitBytes } = params;
    const data = params.chunks.map((chunk) => Buffer.from(chunk.data, 'utf8'));
    const bytes = data.reduce((sum, buffer) => sum + buffer.length, 0);
    await this.transaction(async (query) => {
      const total = (await query<{ output_bytes: number }>(this.Q.ADD_OUTPUT_BYTES, [bytes, jobId, attempt]))[0]?.output_bytes ?? 0;
      const seq = (await query<{ seq: number }>(this.Q.OUTPUT_NEXT_SEQ, [jobId, attempt]))[0]!.seq;
      await query(this.Q.INSERT_OUTPUT, [jobId, attempt, seq, params.chunks.map((chunk) => chunk.stream), data]);
      if (total > limitBytes) await this.trimOutput(query, jobId, attempt, total, limitBytes);
    });
  }

  /** Drops the oldest output until the attempt holds at most `limit` bytes, keeping the tail. */
  private async trimOutput(query: Query, jobId: string, attempt: number, total: number, limit: number): Promise<void> {
    let bytes = total;
    while (bytes > limit) {
      const oldest = await query<{ seq: number; data: Buffer }>(this.Q.OLDEST_OUTPUT, [jobId, attempt]);
      if (oldest.length === 0) break;
      for (const chunk of oldest) {
        const excess = bytes - limit;
        if (chunk.data.length <= excess) {
          await query(this.Q.DELETE_OUTPUT_CHUNK, [jobId, attempt, chunk.seq]);
          bytes -= chunk.data.length;
        } else {
          // Cut at a character boundary: the rest of a split UTF-8 character would decode to a replacement character.
          let start = excess;
          while (start < chunk.data.length && (chunk.data[start]! & 0xc0) === 0x80) start++;
          await query(this.Q.REPLACE_OUTPUT_CHUNK, [jobId, attempt, chunk.seq, chunk.data.subarray(start)]);
          bytes -= start;
        }
        if (bytes <= limit) break;
      }
    }
    await query(this.Q.MARK_OUTPUT_TRUNCATED, [jobId, attempt, bytes]);
  }

  async finishAttempt(params: { jobId: string; workerId: string; attempt: number; result: AttemptResult; next: NextState }): Promise<boolean> {
    const { jobId, workerId, attempt, result, next } = params;
    return this.transaction(async (query) => {
      const [row] = await query<{ applied: number }>(this.Q.FINISH_JOB, [
        next.state, next.countsAttempt ? 0 : 1, next.retryDelayMs, result.error, result.exitCode, jobId, workerId, attempt,
        result.outcome, result.signal,
      ]);
      if (!row || row.applied === 0) return false;
      await this.settleDependents(query, jobId, next.state);
      if (next.state === 'completed') await query(this.Q.NOTIFY, [this.channel]);
      return true;
    });
  }

  private async settleDependents(query: Query, jobId: string, state: JobState): Promise<void> {
    if (state === 'completed') {
      const waiting = await query(this.Q.LOCK_DEPENDENTS, [jobId]);
      if (waiting.length > 0) await query(this.Q.PROMOTE_DEPENDENTS, [jobId]);
    } else if (state === 'dead' || state === 'cancelled') {
      await query(this.Q.CANCEL_DEPENDENTS, [jobId, `dependency '${jobId}' ended ${state}`]);
    }
  }

  async nextRunAt(): Promise<number | null> {
    return (await this.query<{ at: number | null }>(this.Q.NEXT_RUN_AT))[0]!.at;
  }

  // --- Workers ------------------------------------------------------------------------------------------------------

  async registerWorker(params: { worker: WorkerIdentity }): Promise<void> {
    const { id, host, pid, pidStart } = params.worker;
    await this.execute(this.Q.UPSERT_WORKER, [id, host, pid, pidStart]);
  }

  async heartbeat(params: { workerId: string; state: WorkerState; jobId: string | null; leaseMs: number }): Promise<HeartbeatReply> {
    const [row] = await this.query<{ stop_request: StopMode | null; lease_held: boolean; cancel_signal: string | null }>(
      this.Q.HEARTBEAT, [params.workerId, params.state, params.jobId, params.leaseMs],
    );
    return { stopRequest: row?.stop_request ?? null, leaseHeld: row?.lease_held ?? false, cancelSignal: row?.cancel_signal ?? null };
  }

  async listWorkers(params: { staleAfterMs: number }): Promise<WorkerRecord[]> {
    return (await this.query<WorkerRow>(this.Q.LIST_WORKERS, [params.staleAfterMs])).map(toWorker);
  }

  async removeWorker(params: { workerId: string }): Promise<void> {
    await this.execute(this.Q.DELETE_WORKER, [params.workerId]);
  }

  async requestStop(params: { mode: StopMode; host?: string }): Promise<string[]> {
    return this.transaction(async (query) => {
      const rows = await query<{ id: string }>(this.Q.REQUEST_STOP, [params.mode, params.host ?? null]);
      await query(this.Q.NOTIFY, [this.channel]);
      return rows.map((row) => row.id);
    });
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return (await this.query<Parameters<typeof toLease>[0]>(this.Q.LIST_LEASES)).map(toLease);
  }

  // --- Operator actions ---------------------------------------------------------------------------------------------

  async retryJobs(params: { ids?: string[]; allDead?: boolean }): Promise<string[]> {
    return this.transaction(async (query) => {
      const ids = params.allDead ? (await query<{ id: string }>(this.Q.LOCK_DEAD_IDS)).map((row) => row.id) : (params.ids ?? []);
      if (ids.length === 0) return ids;
      const retried = new Set((await query<{ id: string }>(this.Q.RETRY_JOBS, [ids])).map((row) => row.id));
      // Name the first id that could not be retried, as a one-by-one retry would (a repeated id is pending by then).
      const seen = new Set<string>();
      const failed = ids.find((id) => !retried.has(id) || seen.has(id) || !seen.add(id));
      if (failed !== undefined) {
        const state = retried.has(failed) ? 'pending' : (await query<{ state: JobState }>(this.Q.LOCK_JOB_STATES, [[failed]]))[0]?.state;
        if (state === undefined) throw new NotFoundError(`no job with id '${failed}'; see 'queuectl list'`);
        throw new ConflictError(`job '${failed}' is ${state}; only dead or cancelled jobs can be retried`);
      }
      await query(this.Q.NOTIFY, [this.channel]);
      return ids;
    });
  }

  async clearDead(): Promise<number> {
    return this.transaction(async (query) => {
      const ids = (await query<{ id: string }>(this.Q.LOCK_DEAD_IDS)).map((row) => row.id);
      if (ids.length > 0) await query(this.Q.DELETE_JOBS, [ids]);
      return ids.length;
    });
  }

  async cancel(params: { ids: string[]; signal: string }): Promise<CancelResult[]> {
    return this.transaction(async (query) => {
      const found = new Map<string, JobState>();
      for (const row of await query<{ id: string; state: JobState }>(this.Q.LOCK_JOB_STATES, [params.ids])) found.set(row.id, row.state);
      const missing = params.ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError(`no job with id '${missing}'; see 'queuectl list'`);
      const results: CancelResult[] = [];
      for (const id of params.ids) {
        const state = found.get(id)!;
        if (state === 'processing') {
          await query(this.Q.FLAG_CANCEL, [id, params.signal]);
          results.push({ id, action: 'signalled', state });
        } else if (isTerminal(state)) {
          results.push({ id, action: 'unchanged', state });
        } else {
          await query(this.Q.CANCEL_QUEUED_JOB, [id, 'cancelled by user']);
          await this.settleDependents(query, id, 'cancelled');
          results.push({ id, action: 'cancelled', state: 'cancelled' });
        }
      }
      if (results.some((result) => result.action === 'signalled')) await query(this.Q.NOTIFY, [this.channel]);
      return results;
    });
  }

  async purge(params: { states: JobState[]; olderThanMs: number; dryRun: boolean; limit?: number }): Promise<number> {
    return this.transaction(async (query) => {
      let remaining = params.limit ?? Number.MAX_SAFE_INTEGER;
      let count = 0;
      for (const state of params.states) {
        const ids = (await query<{ id: string }>(this.Q.SELECT_FINISHED_BEFORE, [state, params.olderThanMs, Math.min(remaining, 1e9)])).map((row) => row.id);
        if (!params.dryRun && ids.length > 0) await query(this.Q.DELETE_JOBS, [ids]);
        count += ids.length;
        remaining -= ids.length;
        if (remaining <= 0) break;
      }
      return count;
    });
  }

  // --- Config -------------------------------------------------------------------------------------------------------

  private async readConfig(query: Query): Promise<Record<string, string>> {
    const config: Record<string, string> = {};
    for (const row of await query<{ key: string; value: string }>(this.Q.GET_CONFIG)) config[row.key] = row.value;
    return config;
  }

  async getConfig(): Promise<Record<string, string>> {
    return this.readConfig((sql, values) => this.query(sql, values));
  }

  async setConfig(params: { key: string; value: string }): Promise<void> {
    await this.transaction(async (query) => {
      await query(this.Q.SET_CONFIG, [params.key, params.value]);
      await query(this.Q.NOTIFY, [this.channel]);
    });
  }

  async unsetConfig(params: { key: string }): Promise<boolean> {
    return this.transaction(async (query, client) => {
      const removed = ((await client.query(this.statement(this.Q.UNSET_CONFIG, [params.key]))).rowCount ?? 0) > 0;
      if (removed) await query(this.Q.NOTIFY, [this.channel]);
      return removed;
    });
  }

  // --- Wake-ups: NOTIFY on the schema's channel, one LISTEN connection per subscriber ---------------------------------

  async notify(): Promise<void> {
    await this.query(this.Q.NOTIFY, [this.channel]);
  }

  async subscribe(onWake: () => void): Promise<() => Promise<void>> {
    const listener = new WakeListener(clientConfig(this.url), this.channel, onWake);
    this.listeners.add(listener);
    await listener.start();
    return async () => {
      this.listeners.delete(listener);
      await listener.close();
    };
  }
}

function conflict(id: string, repeated: boolean): ConflictError {
  const where = repeated ? 'appears twice in this batch' : 'already exists';
  return new ConflictError(`job '${id}' ${where}; choose another id or pass --if-not-exists`);
}

/** An enqueue lost a race with another inserting the same id; the transaction runs again (and then sees it). */
class ConcurrentInsertError extends ConflictError {
  constructor() {
    super('another enqueue inserted one of these job ids at the same moment; enqueue again');
  }
}

/** The job record of a row about to be inserted, built without reading it back (bulk enqueue stays fast). */
function newJobRecord(job: NewJob, state: JobState, reason: string | null, now: number, defaultMaxRetries: number): Job {
  return {
    id: job.id,
    command: job.command,
    state,
    attempts: 0,
    maxRetries: job.maxRetries ?? defaultMaxRetries,
    priority: job.priority,
    runAt: job.runAt ?? now + job.delayMs,
    timeout: job.timeout,
    cwd: job.cwd,
    env: job.env === null ? null : { ...job.env },
    dependsOn: [...job.dependsOn],
    createdAt: now,
    updatedAt: now,
    finishedAt: state === 'cancelled' ? now : null,
    workerId: null,
    leaseExpiresAt: null,
    lastError: reason,
    exitCode: null,
    cancelSignal: null,
  };
}

/** The parallel arrays INSERT_JOBS unnests. */
function insertParams(jobs: Job[], now: number): unknown[] {
  return [
    jobs.map((job) => job.id),
    jobs.map((job) => job.command),
    jobs.map((job) => job.state),
    jobs.map((job) => job.maxRetries),
    jobs.map((job) => job.priority),
    jobs.map((job) => job.runAt),
    jobs.map((job) => job.timeout),
    jobs.map((job) => job.cwd),
    jobs.map((job) => (job.env === null ? null : JSON.stringify(job.env))),
    jobs.map((job) => (job.dependsOn.length === 0 ? null : JSON.stringify(job.dependsOn))),
    now,
    jobs.map((job) => job.lastError),
  ];
}
