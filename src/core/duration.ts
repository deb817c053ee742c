import { UsageError } from './errors';
import { MAX_DURATION_MS } from './limits';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** How a number without a unit reads: seconds (every duration that took plain seconds before units), or refused. */
export interface DurationOptions {
  bare?: 'seconds' | 'refuse';
}

/**
 * The one duration grammar, wherever a duration is taken: `250ms`, `90s`, `15m`, `12h`, `7d`, `2w`, decimals allowed
 * (`1.5h`); a bare number is seconds unless `bare: 'refuse'`. `what` prefixes the error.
 */
export function parseDuration(text: string, what: string, options: DurationOptions = {}): number {
  const prefix = what ? `${what}: ` : '';
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (!match) throw new UsageError(`${prefix}'${text}' is not a duration; use a number with a unit, e.g. 30s, 15m, 12h, 7d`);
  if (match[2] === undefined && options.bare === 'refuse' && Number(match[1]) !== 0) {
    throw new UsageError(`${prefix}'${text.trim()}' needs a unit: ${match[1]}s, ${match[1]}m, ${match[1]}h or ${match[1]}d`);
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
  if (ms > MAX_DURATION_MS) throw new UsageError(`${prefix}'${text.trim()}' is too long; the limit is 10 years (3650d)`);
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

/** A duration flag that took plain seconds (`--timeout 2.5`) and now takes units too (`--timeout 10m`), in ms. */
export function parseSecondsMs(text: string, what: string): number {
  return parseDuration(text, what);
}
