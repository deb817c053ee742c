import { UsageError } from './errors';
import type { JobCounts, JobState } from './job';

/*
 * Named queues and the limits an operator puts on them. A job's queue is a name (default `default`); a queue exists
 * as soon as a job names it, and has a settings row only once someone sets a limit, a rate or pauses it.
 */

export const DEFAULT_QUEUE = 'default';
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** A queue may run at most this many jobs at once (beyond it a limit means nothing). */
export const MAX_QUEUE_CONCURRENCY = 1_000_000;
/** At most this many starts per rate interval. */
export const MAX_RATE_COUNT = 1_000_000;

export function validateQueueName(name: unknown, field = 'queue'): string {
  if (typeof name !== 'string' || !QUEUE_NAME.test(name)) {
    throw new UsageError(`${field}: ${JSON.stringify(name)} is not a valid queue name (1-64 letters, digits or . _ : -, starting with a letter or digit)`);
  }
  return name;
}

/** `a,b` as given to `--queue`: one or more names, each valid, without repeats. */
export function parseQueueList(text: string, field = '--queue'): string[] {
  const names = text.split(',').map((part) => part.trim());
  if (names.some((name) => name === '')) throw new UsageError(`${field}: expected queue names separated by commas, such as email,video; got ${JSON.stringify(text)}`);
  return [...new Set(names.map((name) => validateQueueName(name, field)))];
}

/** At most `count` jobs of a queue start per `periodMs`, spaced evenly (one every periodMs / count). */
export interface RateLimit {
  count: number;
  periodMs: number;
}

const RATE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `10/s`, `100/m`, `5/h`. */
export function parseRate(text: string, field = '--rate'): RateLimit {
  const match = /^(\d+)\/(s|m|h)$/.exec(text.trim());
  const count = match ? Number(match[1]) : NaN;
  if (!match || !Number.isSafeInteger(count) || count < 1 || count > MAX_RATE_COUNT) {
    throw new UsageError(`${field}: expected a number of jobs per second, minute or hour from 1 to ${MAX_RATE_COUNT}, such as 10/s, 100/m or 5/h; got ${JSON.stringify(text)}`);
  }
  return { count, periodMs: RATE_UNITS[match[2]!]! };
}

export function formatRate(rate: RateLimit): string {
  const unit = Object.keys(RATE_UNITS).find((key) => RATE_UNITS[key] === rate.periodMs);
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.periodMs}ms`;
}

/** The time between two starts of a rate-limited queue: starts are spaced evenly, never bunched. */
export function rateSpacingMs(rate: RateLimit): number {
  return rate.periodMs / rate.count;
}

/** `queue set --concurrency N`: 0 lifts the limit (null). */
export function parseQueueConcurrency(value: string, field = '--concurrency'): number | null {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_QUEUE_CONCURRENCY) {
    throw new UsageError(`${field}: expected a whole number from 0 (no limit) to ${MAX_QUEUE_CONCURRENCY}, got ${JSON.stringify(value)}`);
  }
  return n === 0 ? null : n;
}

/** One queue as `queue list` shows it: its jobs per state and the limits set on it. */
export interface QueueRecord {
  name: string;
  counts: JobCounts;
  /** States whose count reached the cap a capped listing was asked with ("at least"); empty when counted exactly. */
  capped: JobState[];
  /** Jobs of the queue running now (counts.processing). */
  running: number;
  /** At most this many of its jobs run at once across all workers; null: no limit. */
  concurrency: number | null;
  rate: RateLimit | null;
  paused: boolean;
}
