import { formatDuration, parseDuration } from './duration';
import { UsageError } from './errors';
import { MAX_ARG_BYTES, MAX_DURATION_SECONDS, MAX_OUTPUT_LIMIT_BYTES } from './limits';
import type { BackoffPolicy } from './backoff';

/**
 * The one table of configuration keys: it drives `config get/set/list`, validation and the docs.
 * Values live in the store (so every worker on every host sees them) as strings; `parse` turns them into values.
 */
interface KeyDef<T> {
  default: T;
  description: string;
  parse(text: string): T;
  format(value: T): string;
}

function integer(min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`expected a whole number from ${min} to ${max}, got '${text}'`);
    }
    return n;
  };
}

function decimal(min: number, max: number, minExclusive = false) {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (minExclusive && n === min)) {
      throw new UsageError(`expected a number ${minExclusive ? 'above' : 'from'} ${min} to ${max}, got '${text}'`);
    }
    return n;
  };
}

const asString = (value: number | string | null): string => (value === null ? '' : String(value));

const isOff = (text: string): boolean => /^\s*(0|off)?\s*$/i.test(text);

/** A duration in whole seconds (`90`, `90s`, `15m`, `1h`); a bare number is seconds, as it always was. */
function seconds(min: number, max: number, offMeansZero = false) {
  return (text: string): number => {
    if (offMeansZero && isOff(text)) return 0;
    const ms = parseDuration(text, '');
    if (ms % 1000 !== 0 || ms / 1000 < min || ms / 1000 > max) {
      throw new UsageError(`expected whole seconds from ${min} to ${max} (or a duration such as 90s, 15m, 1h), got '${text}'`);
    }
    return ms / 1000;
  };
}

export const CONFIG_KEYS = {
  'max-retries': { default: 3, description: 'Re-runs after the first failed attempt before a job is dead', parse: integer(0, 1000), format: asString },
  'backoff-base': { default: 2, description: 'Retry delay is backoff-base ^ attempts seconds', parse: decimal(1, 1000), format: asString },
  'backoff-max': { default: 3600, description: 'Upper bound on a retry delay, in seconds', parse: seconds(0, MAX_DURATION_SECONDS), format: asString },
  'backoff-jitter': { default: 0, description: 'Spread each retry delay by up to this fraction (0 to 1)', parse: decimal(0, 1), format: asString },
  'job-timeout': { default: 0, description: 'How long a job may run before it is killed (e.g. 10m; 0 or off = no limit); a job\'s own timeout wins', parse: seconds(0, MAX_DURATION_SECONDS, true), format: asString },
  'lease-timeout': { default: 30, description: 'How long a worker\'s claim lasts without a heartbeat (e.g. 30s); heartbeats adapt to it', parse: seconds(1, 86_400), format: asString },
  'output-limit': { default: 1_048_576, description: 'Bytes of output kept per attempt (the tail is kept)', parse: integer(0, MAX_OUTPUT_LIMIT_BYTES), format: asString },
  'retention': {
    default: null as number | null,
    description: 'Delete completed/dead/cancelled jobs older than this (e.g. 7d, with a unit); 0 or off = keep forever',
    // A unit is required: `retention 7` meant 7 seconds, and `retention 0` deleted every job as it finished.
    parse: (text: string): number | null => (isOff(text) ? null : parseDuration(text, '', { bare: 'refuse' }) || null),
    format: (value: number | string | null) => (value === null ? 'off' : formatDuration(Number(value))),
  },
  'worker-count': { default: 1, description: 'How many workers `worker start` starts without --count', parse: integer(1, 256), format: asString },
  'on-finish': {
    default: null as string | null,
    description: 'Shell command run after each job ends, with QUEUECTL_JOB_ID, QUEUECTL_STATE, QUEUECTL_EXIT_CODE',
    parse: (text: string): string | null => {
      if (text.includes('\0')) throw new UsageError('must not contain a NUL byte');
      if (Buffer.byteLength(text, 'utf8') > MAX_ARG_BYTES) throw new UsageError(`over the ${MAX_ARG_BYTES}-byte limit of one exec argument`);
      return text.trim() === '' ? null : text;
    },
    format: (value: number | string | null) => (value === null ? '' : String(value)),
  },
} satisfies Record<string, KeyDef<number | string | null>>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type Config = { [K in ConfigKey]: ReturnType<(typeof CONFIG_KEYS)[K]['parse']> };

export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

/** Names people know from other queue tools, accepted but not listed. */
const KEY_ALIASES: Record<string, ConfigKey> = { 'default-max-retries': 'max-retries' };

/** Accepts `max_retries` and `max-retries` alike, and the aliases above; rejects unknown keys with the list of known ones. */
export function normalizeConfigKey(raw: string): ConfigKey {
  const spelled = raw.trim().toLowerCase().replace(/_/g, '-');
  const key = KEY_ALIASES[spelled] ?? spelled;
  if (!Object.hasOwn(CONFIG_KEYS, key)) {
    throw new UsageError(`unknown config key '${raw}'; known keys: ${CONFIG_KEY_NAMES.join(', ')}`);
  }
  return key as ConfigKey;
}

/** Validates a value for a key, returning the canonical text to store. */
export function validateConfigValue(key: ConfigKey, text: string): string {
  try {
    (CONFIG_KEYS[key].parse as (t: string) => unknown)(text);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`config ${key}: ${err.message}`);
    throw err;
  }
  return text.trim();
}

/**
 * A key's value as people see it: the text they set, as they wrote it (`7d`, not `604800s`), else the default's form.
 * A stored value that no longer parses shows the default it falls back to.
 */
export function displayConfigValue(key: ConfigKey, stored: string | undefined): string {
  const def = CONFIG_KEYS[key] as { default: unknown; parse(t: string): unknown; format(v: unknown): string };
  if (stored !== undefined) {
    try {
      def.parse(stored);
      return stored;
    } catch {
      // falls through to the default
    }
  }
  return def.format(def.default);
}

/** Builds the effective config from stored text values; a stored value that no longer parses falls back to the default. */
export function resolveConfig(stored: Readonly<Record<string, string>>): Config {
  const config = {} as Record<string, unknown>;
  for (const key of CONFIG_KEY_NAMES) {
    const def = CONFIG_KEYS[key];
    const text = stored[key];
    let value: unknown = def.default;
    if (text !== undefined) {
      try {
        value = (def.parse as (t: string) => unknown)(text);
      } catch {
        value = def.default;
      }
    }
    config[key] = value;
  }
  return config as Config;
}

export function backoffPolicy(config: Config): BackoffPolicy {
  return { base: config['backoff-base'], maxSeconds: config['backoff-max'], jitter: config['backoff-jitter'] };
}
