import { UsageError } from './errors';
import { MAX_DURATION_MS, MAX_DURATION_SECONDS } from './limits';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `90s`, `15m`, `12h`, `7d`, `2w` (or a bare number of seconds) into milliseconds; `what` prefixes the error. */
export function parseDuration(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (!match) {
    throw new UsageError(`${what ? `${what}: ` : ''}'${text}' is not a duration; use a number with a unit, e.g. 30s, 15m, 12h, 7d`);
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
  if (ms > MAX_DURATION_MS) throw new UsageError(`${what ? `${what}: ` : ''}'${text.trim()}' is too long; the limit is 10 years (3650d)`);
  return ms;
}

/** Short human form of a duration: `850ms`, `12s`, `5m03s`, `2h10m`, `3d4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 999.5) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** Parses a number of seconds (`--timeout 2.5`) into milliseconds. */
export function parseSecondsMs(text: string, what: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_DURATION_SECONDS) {
    throw new UsageError(`${what}: expected seconds from 0 to ${MAX_DURATION_SECONDS} (10 years), got '${text}'`);
  }
  return seconds * 1000;
}
