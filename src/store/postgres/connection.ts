import { Pool, types as pgTypes, type ClientConfig, type CustomTypesConfig, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { ConflictError, StoreFullError, StoreUnavailableError, UsageError } from '../../core/errors';

/**
 * How the PostgreSQL store connects and runs statements, and how it tells "the server is gone" (callers retry later)
 * from everything else.
 */

const INT8_OID = 20;

/**
 * Type parsers for this store's connections only (never pg's global table, which other code in the process may use):
 * bigint columns (epoch ms, counts) become numbers; they stay far below 2^53.
 */
const storeTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (text: string) => Number(text) : pgTypes.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

/** Connection settings shared by the pool and the LISTEN client. */
export function clientConfig(url: string): ClientConfig {
  return {
    connectionString: url,
    types: storeTypes,
    application_name: 'queuectl',
    connectionTimeoutMillis: 10_000,
    // Finds a dead server (or a dropped NAT mapping) under an idle LISTEN connection.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Every statement here is short; JIT compiling one costs 0.1-2.5 s, and a tiny table without statistics yet
    // (queues, a fresh schema) makes the planner's estimates large enough to call it in (measured on nextRunAt).
    options: '-c jit=off',
  };
}

/** The URL without its password (in the authority or as a `password=` parameter), for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1@').replace(/([?&]password=)[^&]*/i, '$1***');
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN',
]);
/** admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections. */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
const CLIENT_GONE_MESSAGES = /connection terminated|not queryable|timeout exceeded when trying to connect|connection timeout|query read timeout/i;
/** query_canceled (our statement_timeout), lock_not_available, idle_in_transaction_session_timeout. */
const DEADLINE_STATES = new Set(['57014', '55P03', '25P03']);

/** True when a statement ran past the call deadline (see Database.setDeadline): the store is too slow to reach. */
export function isDeadlineFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && DEADLINE_STATES.has(code)) || (err instanceof Error && /query read timeout|checkout deadline/i.test(err.message));
}

/** True when an error means the server (or the way to it) is gone rather than that the statement was wrong. */
export function isConnectionFault(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code) || code.startsWith('08')) return true;
  }
  return CLIENT_GONE_MESSAGES.test(err.message);
}

/** deadlock_detected and serialization_failure: the transaction did nothing and may simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** A one-line reason from a driver error (an AggregateError from a multi-address connect has an empty message). */
export function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const nested = (err as { errors?: unknown[] }).errors;
  const message = err.message !== '' ? err.message : nested?.[0] instanceof Error ? nested[0].message : (err as { code?: string }).code ?? 'unknown error';
  return message.replace(/\s+/g, ' ').trim();
}

/**
 * Turns a driver error into ours: a lost server becomes StoreUnavailableError (callers retry), a full disk
 * StoreFullError, text PostgreSQL cannot store UsageError; anything else is a bug and passes through unchanged.
 */
export function translateError(err: unknown, location: string): unknown {
  if (isDeadlineFault(err)) {
    return new StoreUnavailableError(`PostgreSQL at ${location} did not answer in time: ${reasonOf(err)}`, { cause: err });
  }
  if (isConnectionFault(err)) {
    return new StoreUnavailableError(`lost connection to PostgreSQL at ${location}: ${reasonOf(err)}; check that the server is running`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '22021' || code === '22P05') {
    return new UsageError(`a value contains a NUL byte or a character PostgreSQL cannot store: ${reasonOf(err)}`);
  }
  // disk_full: the server's disk, as full as a SQLite file's would be; temporary, so callers retry.
  if (code === '53100') return new StoreFullError(`PostgreSQL at ${location}`);
  return err;
}

/** Runs one statement and returns its rows. */
export type Query = <R extends QueryResultRow = QueryResultRow>(sql: string, values?: unknown[]) => Promise<R[]>;

/** What statements run on: the pool (each statement its own transaction) or one open transaction. */
export interface Executor {
  query: Query;
  /** Runs one statement and returns how many rows it changed. */
  execute(sql: string, values?: unknown[]): Promise<number>;
}

/**
 * A conflict that the transaction which threw it may simply run again, as after a deadlock: Database.transaction does,
 * up to MAX_TX_RETRIES times, and then lets it surface as the ConflictError it is.
 */
export class RetryableConflictError extends ConflictError {}

/** A deadlock or serialization failure is retried this many times before it surfaces. */
const MAX_TX_RETRIES = 5;
/** Pooled connections per store unless asked otherwise: commands people run may issue a few calls at once. */
const DEFAULT_POOL_SIZE = 4;

/** How the pool is set up (see Database). */
export interface DatabaseOptions {
  asyncCommit?: boolean;
  /** At most this many pooled connections (default 4); calls beyond it wait for one to come back. */
  poolSize?: number;
}

/**
 * The store's connection pool. Statements named in `prepared` run as prepared statements, parsed and planned once per
 * connection. Every driver error leaves through translateError, so a lost server is a StoreUnavailableError.
 */
export class Database implements Executor {
  private readonly pool: Pool;
  /** Every call's deadline in ms, or null for none (see setDeadline). */
  private deadlineMs: number | null = null;
  /** The statement_timeout each pooled connection was last given, so a changed deadline reaches it on its next use. */
  private readonly applied = new WeakMap<PoolClient, number | null>();

  /**
   * `asyncCommit` (workers' claims and results) does not wait for the WAL flush at commit: safe against any crash of a
   * client, and after a server crash at worst the latest results are lost and those jobs run again, the same trade
   * SQLite's `synchronous = NORMAL` makes. Commands people run keep the default, so an acknowledged enqueue is durable.
   */
  constructor(url: string, readonly location: string, private readonly prepared: ReadonlyMap<string, string>, options: DatabaseOptions = {}) {
    const config = clientConfig(url);
    if (options.asyncCommit) config.options = `${config.options ?? ''} -c synchronous_commit=off`.trim();
    const max = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(max) || max < 1) throw new Error(`poolSize must be a whole number of at least 1, got ${max}`);
    this.pool = new Pool({ ...config, max, idleTimeoutMillis: 30_000 });
    // An idle connection that breaks must never take the process down; the next checkout opens a fresh one.
    this.pool.on('error', () => undefined);
    // Nor may one that breaks while checked out (pool.query's own guard is gone: calls check out their connection).
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /**
   * Bounds every later call to about `ms`: the client gives up on a reply after `ms` (a silent network, a frozen
   * server) and drops that connection, which may still be mid-statement; the server cancels a statement after 80% of
   * it (a lock wait) and ends a transaction left idle, so an abandoned call releases its locks.
   */
  setDeadline(ms: number | null): void {
    this.deadlineMs = ms === null ? null : Math.max(1, Math.floor(ms));
  }

  readonly query: Query = async <R extends QueryResultRow>(sql: string, values?: unknown[]) =>
    (await this.run<R>(sql, values)).rows;

  async execute(sql: string, values?: unknown[]): Promise<number> {
    return (await this.run(sql, values)).rowCount ?? 0;
  }

  /** One statement in its own transaction; one a deadlock aborted changed nothing and simply runs again. */
  private async run<R extends QueryResultRow>(sql: string, values: unknown[] | undefined): Promise<QueryResult<R>> {
    for (let tries = 0; ; tries++) {
      let client: PoolClient | null = null;
      try {
        client = await this.checkout();
        const result = await client.query<R>(this.statement(sql, values));
        client.release();
        return result;
      } catch (err) {
        // Closed, as pool.query does: one that failed or timed out may still be mid-statement.
        client?.release(err as Error);
        if (isRetryable(err) && tries < MAX_TX_RETRIES) continue;
        throw translateError(err, this.location);
      }
    }
  }

  /**
   * A pooled connection carrying the current deadline. The wait for it is bounded too: a connect to a silent host
   * would otherwise wait for connectionTimeoutMillis.
   */
  private async checkout(): Promise<PoolClient> {
    const deadline = this.deadlineMs;
    const connecting = this.pool.connect();
    const client = deadline === null ? await connecting : await withinDeadline(connecting, deadline, (late) => late.release());
    if ((this.applied.get(client) ?? null) !== deadline) {
      try {
        // statement_timeout below the client's own timeout: a lock wait ends on the server, keeping the connection.
        const statementMs = deadline === null ? 0 : Math.max(1, Math.floor(deadline * 0.8));
        await client.query({
          text: `SELECT set_config('statement_timeout', $1, false), set_config('idle_in_transaction_session_timeout', $2, false)`,
          values: [String(statementMs), String(deadline ?? 0)],
          query_timeout: deadline ?? undefined,
        } as QueryConfig);
        this.applied.set(client, deadline);
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
    }
    return client;
  }

  /**
   * Runs `fn` in a READ COMMITTED transaction on one connection; a deadlock or serialization failure, or a
   * RetryableConflictError, runs it again. `fn` may therefore run more than once and must only talk to the database.
   */
  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      let client: PoolClient;
      try {
        client = await this.checkout();
      } catch (err) {
        throw translateError(err, this.location);
      }
      // A checked-out client has no error listener of the pool's: without ours a dropped connection would crash us.
      const onError = (): void => undefined;
      client.on('error', onError);
      let broken: Error | undefined;
      try {
        const tx: Executor = {
          query: async <R extends QueryResultRow>(sql: string, values?: unknown[]) => (await client.query<R>(this.statement(sql, values))).rows,
          execute: async (sql, values) => (await client.query(this.statement(sql, values))).rowCount ?? 0,
        };
        await client.query(this.statement('BEGIN', undefined));
        const result = await fn(tx);
        await client.query(this.statement('COMMIT', undefined));
        return result;
      } catch (err) {
        if (isConnectionFault(err)) broken = err as Error;
        else await client.query(this.statement('ROLLBACK', undefined)).catch((rollbackErr: Error) => (broken = rollbackErr));
        const again = isRetryable(err) || err instanceof RetryableConflictError;
        if (again && tries < MAX_TX_RETRIES) continue;
        throw translateError(err, this.location);
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  async end(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private statement(sql: string, values: unknown[] | undefined): QueryConfig {
    return { name: this.prepared.get(sql), text: sql, values, query_timeout: this.deadlineMs ?? undefined } as QueryConfig;
  }
}

/**
 * `pending`, or a checkout-deadline error after `ms`; what `pending` yields after that is handed to `late` (a pooled
 * connection goes back to the pool).
 */
function withinDeadline<T>(pending: Promise<T>, ms: number, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new Error(`no connection within the checkout deadline of ${ms}ms`));
    }, ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        if (expired) late(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!expired) reject(err);
      },
    );
  });
}
