import { statSync } from 'node:fs';
import { UsageError } from '../../core/errors';
import { parseJobJson, parseJobSpec, type UncheckedJobSpec, type ParsedJobSpec } from '../../core/job-spec';
import { MAX_ARG_BYTES, MAX_FILE_LINE_BYTES } from '../../core/limits';
import { jobToJson } from '../../core/serialize';
import { readBoundedText, readLines } from '../bounded-read';
import type { CliContext } from '../context';
import { printJson, printLine } from '../output';

export interface EnqueueOptions {
  command?: string;
  commandFile?: string;
  id?: string;
  queue?: string;
  maxRetries?: string;
  priority?: string;
  delay?: string;
  runAt?: string;
  timeout?: string;
  cwd?: string;
  env?: string[];
  after?: string[];
  ifNotExists?: boolean;
  file?: string;
  jobFile?: string;
  wait?: boolean;
  json?: boolean;
}

/** A numeric flag becomes a number; anything else stays text so validation names the field. */
const numeric = (text: string | undefined): unknown => (text !== undefined && /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text);

/**
 * Checks that a job's cwd is a directory on this host: enqueueing here, the user means a directory here, and a job
 * whose directory is missing would only burn its retries. (The worker checks again before each run.) Memoised:
 * a file of 100,000 jobs names a handful of directories.
 */
function directoryChecker(): (cwd: string | null) => void {
  const checked = new Map<string, string | null>();
  return (cwd) => {
    if (cwd === null) return;
    let problem = checked.get(cwd);
    if (problem === undefined) {
      try {
        problem = statSync(cwd).isDirectory() ? null : `cwd: ${cwd} is not a directory`;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        problem = `cwd: ${cwd} ${code === 'ENOENT' ? 'does not exist' : `cannot be used (${code ?? (err as Error).message})`} on this host`;
      }
      checked.set(cwd, problem);
    }
    if (problem !== null) throw new UsageError(problem);
  };
}

/** The job fields given as flags, as enqueue's JSON names them (also the job fields of `schedule add`). */
export function specFromFlags(options: EnqueueOptions): UncheckedJobSpec {
  if (options.command !== undefined && options.commandFile !== undefined) throw new UsageError('give --command or --command-file, not both');
  const spec: Record<string, unknown> = {};
  if (options.commandFile !== undefined) {
    spec.command = readBoundedText(options.commandFile, '--command-file', MAX_ARG_BYTES, 'the limit of one exec argument');
  }
  if (options.command !== undefined) spec.command = options.command;
  if (options.id !== undefined) spec.id = options.id;
  if (options.queue !== undefined) spec.queue = options.queue;
  if (options.maxRetries !== undefined) spec.max_retries = numeric(options.maxRetries);
  if (options.priority !== undefined) spec.priority = numeric(options.priority);
  if (options.delay !== undefined) spec.delay = numeric(options.delay);
  if (options.runAt !== undefined) spec.run_at = options.runAt;
  if (options.timeout !== undefined) spec.timeout = numeric(options.timeout);
  if (options.cwd !== undefined) spec.cwd = options.cwd;
  if (options.env !== undefined) {
    const env: Record<string, string> = {};
    for (const pair of options.env) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--env: expected NAME=value, got '${pair}'`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    spec.env = env;
  }
  if (options.after !== undefined) spec.depends_on = options.after;
  return spec;
}

/**
 * Every line of a JSONL file must be a valid job; otherwise nothing is enqueued and the bad lines are named.
 * `defaults` (the job flags given with --file) apply to every line; a line's own field wins.
 */
function specsFromFile(path: string, cwd: string, defaults: UncheckedJobSpec): ParsedJobSpec[] {
  const specs: ParsedJobSpec[] = [];
  const errors: string[] = [];
  const checkDirectory = directoryChecker();
  readLines(path, '--file', (line, lineNumber) => {
    if (line.trim() === '') return;
    try {
      const spec = Object.keys(defaults).length === 0 ? parseJobJson(line, cwd) : parseJobSpec(withDefaults(parseJson(line), defaults), cwd);
      checkDirectory(spec.job.cwd);
      specs.push(spec);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      errors.push(`line ${lineNumber}: ${err.message}`);
    }
  });
  if (errors.length > 0) {
    const shown = errors.slice(0, 3).join('; ');
    throw new UsageError(`${errors.length} bad line${errors.length > 1 ? 's' : ''} in ${path}, nothing enqueued: ${shown}${errors.length > 3 ? `; … (${errors.length - 3} more)` : ''}`);
  }
  if (specs.length === 0) throw new UsageError(`${path} holds no jobs`);
  // Only ids the file names can repeat: generated ones are new, and hashing 100,000 of them is a tenth of the enqueue.
  const seen = new Set<string>();
  for (const spec of specs) {
    if (!spec.idGiven) continue;
    if (seen.has(spec.job.id)) throw new UsageError(`${path}: job id '${spec.job.id}' appears twice; nothing enqueued`);
    seen.add(spec.job.id);
  }
  return specs;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid JSON: ${(err as Error).message}`);
  }
}

/** A line's own fields over the flags' (an env is merged, the line's variables winning). */
function withDefaults(line: unknown, defaults: UncheckedJobSpec): unknown {
  if (typeof line !== 'object' || line === null || Array.isArray(line)) return line;
  const merged: Record<string, unknown> = { ...defaults, ...line };
  const lineEnv = (line as UncheckedJobSpec).env;
  if (defaults.env !== undefined && typeof lineEnv === 'object' && lineEnv !== null && !Array.isArray(lineEnv)) {
    merged.env = { ...(defaults.env as object), ...lineEnv };
  }
  // A line's run_at replaces a --delay default, and the other way round: they exclude each other.
  if ('run_at' in line && !('delay' in line)) delete merged.delay;
  if ('delay' in line && !('run_at' in line)) delete merged.run_at;
  return merged;
}

export async function run(ctx: CliContext, json: string | undefined, options: EnqueueOptions): Promise<number> {
  const cwd = process.cwd();
  let specs: ParsedJobSpec[];
  if (options.file !== undefined) {
    if (json !== undefined || options.command !== undefined || options.commandFile !== undefined) {
      throw new UsageError('--file enqueues the jobs in the file; do not also give a job on the command line');
    }
    if (options.id !== undefined) throw new UsageError('--id names one job; with --file, give each line its own "id"');
    specs = specsFromFile(options.file, cwd, specFromFlags(options));
  } else if (options.jobFile !== undefined) {
    // One job as a JSON file, the way other queue tools take it; pretty-printed JSON is fine.
    if (json !== undefined || Object.keys(specFromFlags(options)).length > 0) throw new UsageError('--job-file holds the whole job; do not also give it as JSON or flags');
    specs = [parseJobJson(readBoundedText(options.jobFile, '--job-file', MAX_FILE_LINE_BYTES, 'the limit of one job'), cwd)];
  } else if (json !== undefined) {
    const flagSpec = specFromFlags(options);
    if (Object.keys(flagSpec).length > 0) throw new UsageError('give the job as JSON or as flags, not both');
    specs = [parseJobJson(json, cwd)];
  } else {
    const flagSpec = specFromFlags(options);
    if (flagSpec.command === undefined) throw new UsageError('no job given: pass JSON such as \'{"command":"echo hi"}\' or --command "…"');
    specs = [parseJobSpec(flagSpec, cwd)];
  }
  if (options.wait && specs.length !== 1) throw new UsageError('--wait takes a single job, not --file');
  if (options.file === undefined) directoryChecker()(specs[0]!.job.cwd);

  const queue = await ctx.open({ create: true });
  const results = await queue.enqueue(specs, { ifNotExists: options.ifNotExists });
  if (options.wait) {
    const { followJob } = await import('../follow');
    const id = results[0]!.job.id;
    process.stderr.write(`queuectl: job ${id} enqueued; waiting for it (Ctrl+C stops waiting, the job stays queued)\n`);
    // Ctrl+C ends the wait, not the job: say where it is and how to cancel it.
    process.once('SIGINT', () => {
      process.stderr.write(`queuectl: stopped waiting; job ${id} stays queued (cancel it with: queuectl cancel ${id})\n`);
      process.exit(130);
    });
    return followJob(queue, id, { exitWithJobCode: true });
  }
  if (options.json) printJson(results.length === 1 && options.file === undefined ? jobToJson(results[0]!.job) : results.map((r) => jobToJson(r.job)));
  else if (options.file !== undefined) {
    const created = results.filter((r) => r.created).length;
    printLine(`enqueued ${created} job${created === 1 ? '' : 's'}${created < results.length ? ` (${results.length - created} already existed)` : ''}`);
  } else printLine(results[0]!.job.id);
  return 0;
}
