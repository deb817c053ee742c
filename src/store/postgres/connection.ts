import { types as pgTypes, type ClientConfig, type CustomTypesConfig } from 'pg';
import { StoreUnavailableError, UsageError } from '../../core/errors';

/**
 * How the PostgreSQL store connects, and how it tells "the server is gone" (retry later) from everything else.
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
const CLIENT_GONE_MESSAGES = /connection terminated|not queryable|timeout exceeded when trying to connect|connection timeout/i;

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
 * Turns a driver error into ours: a lost server becomes StoreUnavailableError (callers retry), text PostgreSQL cannot
 * store becomes UsageError; anything else is a bug and passes through unchanged.
 */
export function translateError(err: unknown, location: string): unknown {
  if (isConnectionFault(err)) {
    return new StoreUnavailableError(`lost connection to PostgreSQL at ${location}: ${reasonOf(err)}; check that the server is running`);
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '22021' || code === '22P05') {
    return new UsageError(`a value contains a NUL byte or a character PostgreSQL cannot store: ${reasonOf(err)}`);
  }
  return err;
}
