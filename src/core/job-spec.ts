import { isAbsolute, resolve } from 'node:path';
import { parseDuration } from './duration';
import { UsageError } from './errors';
import { DEFAULT_QUEUE, validateQueueName } from './queue-settings';
import {
  MAX_ARG_BYTES, MAX_DURATION_SECONDS, MAX_JOB_ARGS_BYTES, MAX_JOB_RETRIES, MAX_PRIORITY, maxRunAtMs, MIN_PRIORITY, MIN_RUN_AT_MS,
} from './limits';

/**
 * A validated request to create one job, as the store receives it. Times are resolved by the store's clock:
 * `runAt` when given, else now + `delayMs`.
 */
export interface NewJob {
  id: string;
  command: string;
  /** The named queue (core/queue-settings.ts); `default` unless given. */
  queue: string;
  /** null: the `max-retries` config at enqueue time. */
  maxRetries: number | null;
  priority: number;
  runAt: number | null;
  delayMs: number;
  timeout: number | null;
  cwd: string | null;
  env: Record<string, string> | null;
  dependsOn: string[];
}

/** What `enqueue` accepts as JSON, and the flags map onto; `Queue.add` takes it. Times are seconds or durations. */
export interface JobSpecInput {
  /** The shell command, run as `sh -c COMMAND`. */
  command: string;
  /** 1-128 letters, digits or `. _ : @ / + -` (default: a short random id). */
  id?: string;
  /** The named queue: 1-64 letters, digits or `. _ : -` (default `default`). */
  queue?: string;
  /** Re-runs after the first failure (default: the `max-retries` config). */
  max_retries?: number;
  /** Higher runs first (default 0). */
  priority?: number;
  /** ISO 8601 time to run no earlier than; without a zone, local time. */
  run_at?: string;
  /** Run no earlier than this from now: seconds, or a duration such as `"10m"`. */
  delay?: number | string;
  /** Kill the job after this long: seconds or a duration; 0 or null for none (default: the `job-timeout` config). */
  timeout?: number | string | null;
  /** Working directory (default: where it was enqueued). */
  cwd?: string;
  env?: Record<string, string>;
  /** Ids of jobs that must complete first. */
  depends_on?: string[];
  /** A duplicate id is not an error: the existing job is returned. */
  if_not_exists?: boolean;
}

/** A spec as it arrives (JSON, flags): any field may hold anything until parseJobSpec has checked it. */
export type UncheckedJobSpec = { [K in keyof JobSpecInput]?: unknown };

const FIELDS = ['id', 'command', 'queue', 'max_retries', 'priority', 'run_at', 'delay', 'timeout', 'cwd', 'env', 'depends_on', 'if_not_exists'];
const FIELD_SET = new Set(FIELDS);
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$/;
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_CODES = Array.from(ID_ALPHABET, (char) => char.charCodeAt(0));

/**
 * A short random id (10 characters, 50 bits): unique enough for a queue, short enough to type. Ids name jobs, they
 * guard nothing, so V8's per-process seeded generator serves; loading node:crypto for it cost 5 ms of every start-up.
 */
export function generateJobId(): string {
  // Two draws of 25 bits, five characters of 5 bits each; built in one call, as a flat string.
  const high = Math.floor(Math.random() * 0x2000000);
  const low = Math.floor(Math.random() * 0x2000000);
  return String.fromCharCode(
    ID_CODES[high & 31]!, ID_CODES[(high >>> 5) & 31]!, ID_CODES[(high >>> 10) & 31]!, ID_CODES[(high >>> 15) & 31]!, ID_CODES[(high >>> 20) & 31]!,
    ID_CODES[low & 31]!, ID_CODES[(low >>> 5) & 31]!, ID_CODES[(low >>> 10) & 31]!, ID_CODES[(low >>> 15) & 31]!, ID_CODES[(low >>> 20) & 31]!,
  );
}

export function validateJobId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new UsageError(
      `${field}: ${JSON.stringify(id)} is not a valid job id (1-128 letters, digits or . _ : @ / + -, starting with a letter or digit)`,
    );
  }
  return id;
}

function integerField(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${field}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Seconds as a number (`90`, `2.5`), or a duration in the one grammar (`"10m"`, `"1h"`, see core/duration.ts). */
function secondsField(value: unknown, field: string): number {
  if (typeof value === 'string') return parseDuration(value, field) / 1000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DURATION_SECONDS) {
    throw new UsageError(`${field}: expected a number of seconds from 0 to ${MAX_DURATION_SECONDS} (10 years), got ${JSON.stringify(value)}`);
  }
  return value;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A string the job's exec receives: no NUL (the kernel would cut it there), and within MAX_ARG_STRLEN. */
function execString(text: string, field: string): string {
  if (text.includes('\0')) throw new UsageError(`${field}: must not contain a NUL byte`);
  if (text.length > MAX_ARG_BYTES || utf8Bytes(text) > MAX_ARG_BYTES) {
    throw new UsageError(`${field}: ${utf8Bytes(text)} bytes is over the ${MAX_ARG_BYTES}-byte limit of one exec argument; put it in a file instead`);
  }
  return text;
}

/**
 * Parses an ISO 8601 date-time; one without a zone is in this host's local zone, as `date` reads it (a date alone is
 * local midnight). It is parsed where it is enqueued, so the zone is the one of the person typing it.
 */
export function parseRunAt(value: unknown, field = 'run_at'): number {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    throw new UsageError(`${field}: expected an ISO 8601 date-time such as 2030-01-31T09:00:00Z, got ${JSON.stringify(value)}`);
  }
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value) && value.length > 10;
  // Date.parse reads a date-time without an offset as local time, but a bare date as UTC: give the date a time.
  const ms = Date.parse(hasZone ? value : value.length === 10 ? `${value}T00:00` : value.replace(' ', 'T'));
  // Date.parse rolls 2030-02-30 over to March; a date that does not survive the round trip is not a real one.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (Number.isNaN(ms) || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
    throw new UsageError(`${field}: ${JSON.stringify(value)} is not a real date-time`);
  }
  if (ms < MIN_RUN_AT_MS || ms > maxRunAtMs()) {
    throw new UsageError(`${field}: ${JSON.stringify(value)} is out of range; give a time from 1970 to at most 10 years from now`);
  }
  return ms;
}

/** The options that govern an enqueue call rather than a single job. */
export interface ParsedJobSpec {
  job: NewJob;
  ifNotExists: boolean;
  /** The spec named its id (else one was generated, and is new). */
  idGiven: boolean;
}

/**
 * Validates one job spec (from JSON or flags). Unknown fields and wrong types are rejected with the field's name.
 * `defaultCwd` is recorded when the spec names none, so the job runs where it was enqueued.
 */
export function parseJobSpec(input: unknown, defaultCwd: string | null): ParsedJobSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new UsageError(`a job must be a JSON object such as {"command":"echo hi"}, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`);
  }
  const spec = input as UncheckedJobSpec & Record<string, unknown>;
  for (const key in spec) {
    if (!FIELD_SET.has(key)) throw new UsageError(`unknown field '${key}'; allowed fields: ${FIELDS.join(', ')}`);
  }
  if (spec.command === undefined) throw new UsageError(`command: required (the shell command to run)`);
  if (typeof spec.command !== 'string') throw new UsageError(`command: expected a string, got ${JSON.stringify(spec.command)}`);
  if (spec.command.trim() === '') throw new UsageError('command: must not be empty');
  execString(spec.command, 'command');

  const id = spec.id === undefined ? generateJobId() : validateJobId(spec.id);
  const queue = spec.queue === undefined ? DEFAULT_QUEUE : validateQueueName(spec.queue);
  const maxRetries = spec.max_retries === undefined ? null : integerField(spec.max_retries, 'max_retries', 0, MAX_JOB_RETRIES);
  const priority = spec.priority === undefined ? 0 : integerField(spec.priority, 'priority', MIN_PRIORITY, MAX_PRIORITY);
  if (spec.run_at !== undefined && spec.delay !== undefined) throw new UsageError('run_at and delay: give one or the other, not both');
  const runAt = spec.run_at === undefined ? null : parseRunAt(spec.run_at);
  const delayMs = spec.delay === undefined ? 0 : Math.round(secondsField(spec.delay, 'delay') * 1000);
  let timeout: number | null = null;
  if (spec.timeout !== undefined && spec.timeout !== null) {
    timeout = secondsField(spec.timeout, 'timeout');
    if (timeout === 0) timeout = null;
  }

  let cwd = defaultCwd;
  if (spec.cwd !== undefined) {
    if (typeof spec.cwd !== 'string' || spec.cwd === '') throw new UsageError(`cwd: expected a directory path, got ${JSON.stringify(spec.cwd)}`);
    if (spec.cwd.includes('\0')) throw new UsageError('cwd: must not contain a NUL byte');
    // A relative cwd means relative to where `enqueue` ran, not to wherever a worker happens to run.
    cwd = isAbsolute(spec.cwd) || defaultCwd === null ? spec.cwd : resolve(defaultCwd, spec.cwd);
    execString(cwd, 'cwd');
  }

  let env: Record<string, string> | null = null;
  if (spec.env !== undefined) {
    if (typeof spec.env !== 'object' || spec.env === null || Array.isArray(spec.env)) {
      throw new UsageError(`env: expected an object of NAME: "value" pairs, got ${JSON.stringify(spec.env)}`);
    }
    env = {};
    let envBytes = 0;
    for (const [name, value] of Object.entries(spec.env as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`env: ${JSON.stringify(name)} is not a valid variable name (letters, digits, _; not starting with a digit)`);
      if (typeof value !== 'string') throw new UsageError(`env.${name}: expected a string, got ${JSON.stringify(value)}`);
      envBytes += utf8Bytes(execString(`${name}=${value}`, `env.${name}`)) + 1;
      env[name] = value;
    }
    const total = envBytes + utf8Bytes(spec.command);
    if (total > MAX_JOB_ARGS_BYTES) {
      throw new UsageError(`command and env: ${total} bytes together is over the ${MAX_JOB_ARGS_BYTES}-byte limit for one job; put the data in a file instead`);
    }
  }

  let dependsOn: string[] = [];
  if (spec.depends_on !== undefined) {
    if (!Array.isArray(spec.depends_on)) throw new UsageError(`depends_on: expected an array of job ids, got ${JSON.stringify(spec.depends_on)}`);
    dependsOn = [...new Set(spec.depends_on.map((dep) => validateJobId(dep, 'depends_on')))];
    if (dependsOn.includes(id)) throw new UsageError(`depends_on: job '${id}' cannot depend on itself`);
  }

  let ifNotExists = false;
  if (spec.if_not_exists !== undefined) {
    if (typeof spec.if_not_exists !== 'boolean') throw new UsageError(`if_not_exists: expected true or false, got ${JSON.stringify(spec.if_not_exists)}`);
    ifNotExists = spec.if_not_exists;
  }

  return { job: { id, command: spec.command, queue, maxRetries, priority, runAt, delayMs, timeout, cwd, env, dependsOn }, ifNotExists, idGiven: spec.id !== undefined };
}

/** Parses the text of one JSON job; the message names what was wrong. */
export function parseJobJson(text: string, defaultCwd: string | null): ParsedJobSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid JSON: ${(err as Error).message}`);
  }
  return parseJobSpec(value, defaultCwd);
}
