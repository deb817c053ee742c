import { UsageError } from './errors';
import { MAX_QUEUE_CONCURRENCY, MAX_RATE_COUNT, parseRate, type RateLimit } from './queue-settings';

/** A queue's settings as a library caller gives them to `Queue.setQueue`; a field left out stays as it is. */
export interface QueueSettingsInput {
  /** At most this many of its jobs run at once across all workers; 0 or null lifts the limit. */
  concurrency?: number | null;
  /** At most `count` starts per `periodMs`: `'10/s'`, `'100/m'`, `'5/h'` or `{ count, periodMs }`; null lifts it. */
  rate?: RateLimit | string | null;
}

/** What changes: a field left out stays as it is; null lifts a limit. */
export interface QueueSettingsChange {
  concurrency?: number | null;
  rate?: RateLimit | null;
}

/** The change `settings` asks for, each field checked as the CLI checks its flags (a UsageError names the field). */
export function queueSettingsChange(settings: QueueSettingsInput): QueueSettingsChange {
  const change: QueueSettingsChange = {};
  if (settings.concurrency !== undefined) change.concurrency = concurrencyLimit(settings.concurrency);
  if (settings.rate !== undefined) change.rate = rateLimit(settings.rate);
  if (change.concurrency === undefined && change.rate === undefined) throw new UsageError('queue settings: give a concurrency or a rate to set');
  return change;
}

function concurrencyLimit(value: unknown): number | null {
  if (value === null || value === 0) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_QUEUE_CONCURRENCY) {
    throw new UsageError(`concurrency: expected a whole number from 0 (no limit) to ${MAX_QUEUE_CONCURRENCY}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function rateLimit(value: unknown): RateLimit | null {
  if (value === null) return null;
  if (typeof value === 'string') return parseRate(value, 'rate');
  const rate = value as Partial<RateLimit> | undefined;
  const count = rate?.count;
  const periodMs = rate?.periodMs;
  const wholeIn = (n: unknown, max: number): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= max;
  if (typeof value !== 'object' || !wholeIn(count, MAX_RATE_COUNT) || !wholeIn(periodMs, 366 * 86_400_000)) {
    throw new UsageError(`rate: expected '10/s', '100/m', '5/h' or { count, periodMs } with whole numbers of at least 1, got ${JSON.stringify(value)}`);
  }
  return { count, periodMs };
}
