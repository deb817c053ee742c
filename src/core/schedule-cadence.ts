import { Cron } from 'croner';
import { UsageError } from './errors';

/**
 * When a schedule's ticks fall. Cron expressions are parsed and evaluated by croner (5 fields, or 6 with seconds
 * first), in the schedule's IANA time zone, with croner's rules for daylight-saving changes; `every` ticks fall on
 * whole multiples of the interval since the Unix epoch (as BullMQ's `every` does), so every host computes the same
 * ticks and the zone does not matter.
 *
 * This is the only module that loads croner: it is imported by the schedule commands and by workers, never on the
 * start-up path of other commands.
 */
export type ScheduleCadence = { kind: 'cron'; expression: string } | { kind: 'every'; everyMs: number };

/** The shortest `every`: a tick is named by its second, so two ticks must never share one. */
export const MIN_EVERY_MS = 1000;

/** The host's IANA zone, the default for new schedules. */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The canonical name of `zone` (`europe/paris` -> `Europe/Paris`); UsageError unless this Node knows the zone. */
export function validateTimeZone(zone: unknown, field = 'tz'): string {
  if (typeof zone !== 'string' || zone.trim() === '') throw new UsageError(`${field}: expected an IANA time zone such as Europe/Paris, got ${JSON.stringify(zone)}`);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone.trim() }).resolvedOptions().timeZone;
  } catch {
    throw new UsageError(`${field}: unknown time zone '${zone}'; use an IANA name such as Europe/Paris, America/New_York or UTC`);
  }
}

/** croner's evaluator for one expression in one zone; cached, as a worker asks every second. */
const evaluators = new Map<string, Cron>();

function cronFor(expression: string, zone: string, field = 'cron'): Cron {
  const key = `${zone}\u0000${expression}`;
  let cron = evaluators.get(key);
  if (!cron) {
    try {
      cron = new Cron(expression, { timezone: zone, paused: true });
    } catch (err) {
      throw new UsageError(`${field}: '${expression}' is not a valid cron expression (${(err as Error).message.replace(/^CronPattern: /, '')}); e.g. '*/5 * * * *'`);
    }
    if (evaluators.size > 1000) evaluators.clear();
    evaluators.set(key, cron);
  }
  return cron;
}

/** Throws UsageError unless `expression` parses and fires at least once more after `now` in `zone`. */
export function validateCron(expression: unknown, zone: string, now: number, field = 'cron'): string {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new UsageError(`${field}: expected a cron expression such as '*/5 * * * *', got ${JSON.stringify(expression)}`);
  }
  const text = expression.trim().replace(/\s+/g, ' ');
  if (nextTick({ kind: 'cron', expression: text }, zone, now, field) === null) throw new UsageError(`${field}: '${text}' never fires`);
  return text;
}

/** The first tick strictly after `after` (epoch ms), or null when the cadence never fires again. */
export function nextTick(cadence: ScheduleCadence, zone: string, after: number, field = 'cron'): number | null {
  if (cadence.kind === 'every') return (Math.floor(after / cadence.everyMs) + 1) * cadence.everyMs;
  const next = cronFor(cadence.expression, zone, field).nextRun(new Date(after));
  if (next === null) return null;
  const at = next.getTime();
  // croner works in whole seconds: guard the contract "strictly after" for an `after` between two seconds.
  return at > after ? at : nextTick(cadence, zone, at, field);
}

/**
 * The latest tick at or before `now`, given `due`, a tick at or before `now` (the schedule's next_run_at). Ticks
 * missed during a long outage are skipped by searching back from `now` in doubling windows rather than walking every
 * one of them since `due`: a per-second schedule stopped for a month is not a 2.6-million-step loop.
 */
export function latestTickAtOrBefore(cadence: ScheduleCadence, zone: string, now: number, due: number): number {
  if (due > now) throw new Error(`latestTickAtOrBefore: due ${due} is after now ${now}`);
  if (cadence.kind === 'every') return Math.max(due, Math.floor(now / cadence.everyMs) * cadence.everyMs);
  const walkFrom = (tick: number): number => {
    let latest = tick;
    for (let next = nextTick(cadence, zone, latest); next !== null && next <= now; next = nextTick(cadence, zone, latest)) latest = next;
    return latest;
  };
  for (let windowMs = 1000; ; windowMs *= 2) {
    const start = now - windowMs;
    if (start < due) return walkFrom(due);
    // Nothing in (now - window/2, now] (else the previous window found it): the ticks here lie in its older half.
    const first = nextTick(cadence, zone, start);
    if (first !== null && first <= now) return walkFrom(first);
  }
}

/** `10m`, `1h30m`… for display: the largest units that divide the interval exactly. */
export function formatEvery(everyMs: number): string {
  const units: [string, number][] = [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = everyMs;
  let text = '';
  for (const [unit, ms] of units) {
    if (rest >= ms) {
      text += `${Math.floor(rest / ms)}${unit}`;
      rest %= ms;
    }
  }
  return text || '0s';
}

/** How a cadence reads in `schedule list`: the expression, or `every 10m`. */
export function describeCadence(cadence: ScheduleCadence): string {
  return cadence.kind === 'cron' ? cadence.expression : `every ${formatEvery(cadence.everyMs)}`;
}
