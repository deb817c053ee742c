import { Command, CommanderError, Option } from 'commander';
import { isQueueError, UsageError } from '../core/errors';
import { MAX_LIST_LIMIT } from '../core/limits';
import { CliContext } from './context';

/** Each command module exports `run(ctx, …args)`; they load only when their command runs, keeping start-up small. */
type CommandModule = { run: (ctx: CliContext, ...args: never[]) => Promise<number | void> };
const commands: Record<string, () => Promise<CommandModule>> = {
  enqueue: () => import('./commands/enqueue'),
  status: () => import('./commands/status'),
  list: () => import('./commands/list'),
  show: () => import('./commands/show'),
  logs: () => import('./commands/logs'),
  wait: () => import('./commands/wait'),
  cancel: () => import('./commands/cancel'),
  purge: () => import('./commands/purge'),
  dlqList: () => import('./commands/dlq-list'),
  dlqRetry: () => import('./commands/dlq-retry'),
  dlqClear: () => import('./commands/dlq-clear'),
  retry: () => import('./commands/retry'),
  configGet: () => import('./commands/config-get'),
  configSet: () => import('./commands/config-set'),
  configList: () => import('./commands/config-list'),
  configUnset: () => import('./commands/config-unset'),
  workerStart: () => import('./commands/worker-start'),
  workerStop: () => import('./commands/worker-stop'),
  workerList: () => import('./commands/worker-list'),
  workerRun: () => import('./commands/worker-run'),
  init: () => import('./commands/init'),
  completion: () => import('./commands/completion'),
  scheduleAdd: () => import('./commands/schedule-add'),
  scheduleList: () => import('./commands/schedule-list'),
  scheduleShow: () => import('./commands/schedule-show'),
  scheduleRemove: () => import('./commands/schedule-remove'),
  schedulePause: () => import('./commands/schedule-pause'),
  scheduleResume: () => import('./commands/schedule-resume'),
  scheduleRun: () => import('./commands/schedule-run'),
  stats: () => import('./commands/stats'),
  metrics: () => import('./commands/metrics'),
  dashboard: () => import('./commands/dashboard'),
  queueList: () => import('./commands/queue-list'),
  queueSet: () => import('./commands/queue-set'),
  queuePause: () => import('./commands/queue-pause'),
  queueResume: () => import('./commands/queue-resume'),
};

let exitCode = 0;

function action(name: keyof typeof commands, program: Command) {
  return async (...args: unknown[]) => {
    const module = await commands[name]!();
    const ctx = new CliContext(program.opts<{ db?: string }>().db);
    try {
      const code = await (module.run as (ctx: CliContext, ...rest: unknown[]) => Promise<number | void>)(ctx, ...args.slice(0, -1));
      exitCode = code ?? 0;
    } finally {
      await ctx.close();
    }
  };
}

/** A whole-number option; beyond `max` (or a safe integer) is refused here, before anything reaches the store. */
const integerOption = (flag: string, max = 2_147_483_647) => (value: string) => {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${flag}: expected a whole number, got '${value}'`);
  const n = Number(value);
  if (n > max) throw new UsageError(`${flag}: ${value} is too large; the limit is ${max}`);
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

function buildProgram(): Command {
  const program = new Command('queuectl')
    .description('A crash-safe background job queue for shell commands')
    .version(require('../../package.json').version as string)
    .option('--db <location>', 'SQLite file path or postgres:// URL (env QUEUECTL_DB; default ~/.local/share/queuectl/queue.db)')
    .exitOverride()
    // One line, like every other error: commander's message, its "did you mean" and the usage hint on the same line.
    .configureOutput({ outputError: (text, write) => write(`${oneLineError(text)}\n`) });

  program
    .command('enqueue')
    .description('add a job: queuectl enqueue \'{"id":"backup","command":"./backup.sh"}\'')
    .argument('[json]', 'the job as JSON (fields: id, command, queue, max_retries, priority, run_at, delay, timeout, cwd, env, depends_on, if_not_exists)')
    .option('-c, --command <cmd>', 'shell command to run')
    .option('--command-file <file>', 'read the command from a file')
    .option('--id <id>', 'job id (default: a short random id)')
    .option('--queue <name>', 'the named queue it goes to (default: default)')
    .option('--max-retries <n>', 're-runs after the first failure (default: config max-retries)')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--delay <duration>', 'run no earlier than this from now (e.g. 90s, 10m, 1h; a bare number is seconds)')
    .option('--run-at <iso>', 'run no earlier than this ISO 8601 time; without a zone it is local time, as `date` reads it')
    .option('--timeout <duration>', 'kill the job after this long (e.g. 10m; default: config job-timeout)')
    .option('--cwd <dir>', 'working directory (default: the current directory)')
    .option('-e, --env <K=V>', 'extra environment variable (repeatable)', collect)
    .option('--after <id>', 'run only after this job completed (repeatable)', collect)
    .option('--if-not-exists', 'a duplicate id is not an error: print the existing job')
    .option('-f, --file <jsonl>', 'enqueue many jobs, one JSON object per line ("-" for stdin); all or nothing; job flags given with it are defaults for every line')
    .addOption(new Option('--job-file <file>', 'one job as a JSON file (pretty-printed allowed)').hideHelp())
    .option('--wait', 'wait for the job, stream its output, and exit with its exit code')
    .option('--json', 'print the job as JSON')
    .action(action('enqueue', program));

  program
    .command('status')
    .description('job counts per state (and per queue), workers, oldest pending job')
    .option('--queue <name>', 'only this queue: its counts, settings and the workers serving it')
    .option('--json', 'JSON output')
    .action(action('status', program));

  program
    .command('list')
    .description('list jobs, newest first')
    .option('-s, --state <state>', 'only jobs in this state')
    .option('--queue <name>', 'only jobs of this queue')
    .option('-n, --limit <n>', 'at most this many (default 50)', integerOption('--limit', MAX_LIST_LIMIT))
    .option('--offset <n>', 'skip this many first (for paging)', integerOption('--offset', MAX_LIST_LIMIT))
    .option('--command <text>', 'only jobs whose command contains this text')
    .option('--json', 'JSON output')
    .action(action('list', program));

  program.command('show').description('a job and its attempt history').argument('<id>').option('--json', 'JSON output').action(action('show', program));

  program
    .command('logs')
    .description("a job's captured stdout/stderr (last attempt by default)")
    .argument('<id>')
    .option('-a, --attempt <n>', 'attempt number', integerOption('--attempt'))
    .option('-f, --follow', 'stream output while the job runs; end when it finishes')
    .option('-t, --tail <n>', 'only the last N lines', integerOption('--tail'))
    .option('--json', 'JSON output')
    .action(action('logs', program));

  program
    .command('wait')
    .description('block until the jobs finish; exit 0 only if all completed')
    .argument('<ids...>')
    .option('--timeout <duration>', 'give up after this long (e.g. 30s, 1h; exit 124)')
    .option('--json', 'print the final jobs as JSON')
    .action(action('wait', program));

  program
    .command('cancel')
    .description('cancel jobs; a running job is signalled by its worker, wherever it runs')
    .argument('<ids...>')
    .option('--signal <name>', 'signal for running jobs (default SIGTERM; SIGKILL follows after a grace)', 'SIGTERM')
    .option('--json', 'JSON output')
    .action(action('cancel', program));

  program
    .command('purge')
    .description('delete finished jobs older than a duration')
    .requiredOption('--older-than <duration>', 'e.g. 7d, 12h, 30m')
    .option('-s, --state <state>', 'completed, dead or cancelled (repeatable; default all three)', collect)
    .option('--queue <name>', 'only jobs of this queue')
    .option('--dry-run', 'only count')
    .option('--json', 'JSON output')
    .action(action('purge', program));

  program
    .command('retry')
    .description('run finished jobs again (completed, dead or cancelled), attempts reset, history kept')
    .argument('<ids...>')
    .option('--json', 'JSON output')
    .action(action('retry', program));

  const dlq = program.command('dlq').description('the dead letter queue: jobs that used up their retries');
  dlq.command('list').description('list dead jobs').option('--queue <name>', 'only jobs of this queue').option('--json', 'JSON output').action(action('dlqList', program));
  dlq
    .command('retry')
    .description('move dead jobs back to pending with attempts reset (history kept)')
    .argument('[ids...]')
    .option('--all', 'every dead job')
    .option('--json', 'JSON output')
    .action(action('dlqRetry', program));
  dlq.command('clear').description('delete every dead job').option('--json', 'JSON output').action(action('dlqClear', program));

  const config = program.command('config').description('settings shared by every worker (kept in the store)');
  config.command('get').argument('<key>').option('--json', 'JSON output').action(action('configGet', program));
  config.command('set').argument('<key>').argument('<value>').action(action('configSet', program));
  config.command('list').alias('show').description('every key, its value and its source').option('--json', 'JSON output').action(action('configList', program));
  config.command('unset').description('back to the default').argument('<key>').action(action('configUnset', program));

  const worker = program.command('worker').description('run and manage workers');
  worker
    .command('start')
    .description('start workers in the background (or --foreground)')
    .option('-n, --count <n>', 'how many workers (default: config worker-count, 1)', integerOption('--count'))
    .option('--concurrency <n>', 'how many jobs each worker runs at once (1-1000, default 1)', integerOption('--concurrency'))
    .option('--queue <names>', 'only jobs of these queues, e.g. email,video (default: every queue)')
    .option('--foreground', 'stay attached: Ctrl+C stops gracefully, a second Ctrl+C forces')
    .action(action('workerStart', program));
  worker
    .command('stop')
    .description('stop workers gracefully: each finishes its jobs and exits')
    .option('--no-wait', 'return at once')
    .option('--timeout <duration>', 'then kill the jobs still running and put them back to pending (e.g. 30s)')
    .option('--host <host>', 'only the workers of this host')
    .action(action('workerStop', program));
  worker.command('list').description('registered workers').option('--json', 'JSON output').action(action('workerList', program));
  addQueueCommands(program);
  const schedule = program.command('schedule').description('recurring jobs: a cron expression or an interval that enqueues a job at each tick');
  schedule
    .command('add')
    .description('add a schedule: queuectl schedule add backup --cron \'0 3 * * *\' --command ./backup.sh')
    .argument('<name|json>', 'the schedule\'s name, or the whole schedule as JSON (fields: name, cron, every, tz, no_overlap, catch_up and the job\'s fields)')
    .option('--cron <expression>', 'cron expression: 5 fields, or 6 with seconds first (e.g. \'*/5 * * * *\')')
    .option('--every <duration>', 'or a fixed interval, aligned to the epoch (e.g. 30s, 10m, 1h)')
    .option('--tz <zone>', 'IANA time zone the cron expression is read in (default: this host\'s zone, stored with the schedule)')
    .option('--no-overlap', 'skip a tick while the previous job of this schedule has not finished')
    .option('--catch-up <policy>', 'ticks missed while no worker ran: last (run once, the default) or none')
    .option('--replace', 'overwrite a schedule of the same name')
    .option('-c, --command <cmd>', 'shell command each job runs')
    .option('--command-file <file>', 'read the command from a file')
    .option('--queue <name>', 'the named queue each job goes to (default: default)')
    .option('--max-retries <n>', 're-runs after the first failure (default: config max-retries)')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--timeout <duration>', 'kill the job after this long (e.g. 10m; default: config job-timeout)')
    .option('--cwd <dir>', 'working directory (default: the current directory)')
    .option('-e, --env <K=V>', 'extra environment variable (repeatable)', collect)
    .option('--json', 'print the schedule as JSON')
    .action(action('scheduleAdd', program));
  schedule.command('list').description('schedules: cadence, zone, next run, last job, paused').option('--json', 'JSON output').action(action('scheduleList', program));
  schedule.command('show').description('one schedule').argument('<name>').option('--json', 'JSON output').action(action('scheduleShow', program));
  schedule.command('remove').description('remove a schedule (the jobs it made stay)').argument('<name>').action(action('scheduleRemove', program));
  schedule.command('pause').description('stop firing until resumed').argument('<name>').action(action('schedulePause', program));
  schedule.command('resume').description('fire again from the next tick').argument('<name>').action(action('scheduleResume', program));
  schedule.command('run').description('enqueue one job of the schedule now, outside its cadence').argument('<name>').option('--json', 'print the job as JSON').action(action('scheduleRun', program));

  program
    .command('stats')
    .description('throughput, success and failure rates, run times, queue depth, oldest pending job, per-worker counts')
    .option('--since <duration>', 'the window: 15m, 1h, 1d (default 1h)')
    .option('--json', 'JSON output')
    .action(action('stats', program));
  program.command('metrics').description('Prometheus text (as /metrics serves it), e.g. for a node_exporter textfile collector').action(action('metrics', program));
  program
    .command('dashboard')
    .description('serve the web dashboard (loopback only unless --token)')
    .option('--host <address>', 'address to bind (default 127.0.0.1; any other needs --token)')
    .option('--port <n>', 'port (default 8420; 0 picks a free one)', integerOption('--port', 65535))
    .option('--token <token>', 'require this token on every request (env QUEUECTL_DASHBOARD_TOKEN)')
    .option('--open', 'open it in a browser')
    .action(action('dashboard', program));

  const completion = action('completion', program);
  program
    .command('completion')
    .description('print a shell completion script: eval "$(queuectl completion bash)"')
    .argument('[shell]', 'bash, zsh or fish')
    .addOption(new Option('--ids', 'job ids, one a line (what the scripts complete ids from)').hideHelp())
    .addOption(new Option('--queues', 'queue names, one a line (what the scripts complete queue names from)').hideHelp())
    // The generator walks the command tree, so it is given the program.
    .action((shell: string | undefined, options: object, command: Command) => completion(shell, options, program, command));
  worker.addCommand(
    new Command('run')
      .description('run one worker in this process (used by worker start)')
      .option('--concurrency <n>', 'how many jobs it runs at once', integerOption('--concurrency'))
      .option('--queue <names>', 'only jobs of these queues')
      .action(action('workerRun', program)),
    { hidden: true },
  );
  addHiddenAliases(program);
  return program;
}

/** `queue list|set|pause|resume`: named queues, their limits and rates. */
function addQueueCommands(program: Command): void {
  const queue = program.command('queue').description('named queues: counts, concurrency limits, rate limits, pause');
  queue.command('list').description('every queue: jobs per state, running, limit, rate, paused').option('--json', 'JSON output').action(action('queueList', program));
  queue
    .command('set')
    .description('limit a queue across all workers and hosts: queuectl queue set email --concurrency 3 --rate 10/s')
    .argument('<name>')
    .option('--concurrency <n>', 'at most this many of its jobs run at once (0 or unset: no limit)')
    .option('--rate <n/unit>', 'at most this many of its jobs start per second, minute or hour, e.g. 10/s, 100/m, 5/h (unset: no limit)')
    .option('--json', 'print the queue as JSON')
    .action(action('queueSet', program));
  queue.command('pause').description('start none of its jobs until resumed (running ones finish)').argument('<name>').action(action('queuePause', program));
  queue.command('resume').description('start its jobs again').argument('<name>').action(action('queueResume', program));
}

/** Commander's error text on one line: its first line, a "(Did you mean …?)" it adds, then the usage hint. */
function oneLineError(text: string): string {
  const lines = text.split('\n').map((line) => line.trim());
  const suggestion = lines.find((line) => line.startsWith('(Did you mean'));
  return `${lines[0]!}${suggestion ? ` ${suggestion}` : ''} (run with --help for usage)`;
}

/**
 * Command lines people already know from other queue tools: accepted, tested, never shown in --help.
 * `init` creates the store and prints where it is; `worker-start`, `worker-run` and `worker-stop` are the worker
 * subcommands (`worker-run --count N` runs N workers attached, as `worker start --foreground` does).
 */
function addHiddenAliases(program: Command): void {
  const hidden = { hidden: true };
  program.addCommand(new Command('init').description('create the store if absent and print where it is').action(action('init', program)), hidden);
  program.addCommand(
    new Command('worker-start')
      .option('-n, --count <n>', 'how many workers', integerOption('--count'))
      .option('--concurrency <n>', 'how many jobs each runs at once', integerOption('--concurrency'))
      .option('--queue <names>', 'only jobs of these queues')
      .option('--foreground')
      .action(action('workerStart', program)),
    hidden,
  );
  const workerRun = action('workerStart', program);
  program.addCommand(
    new Command('worker-run')
      .option('-n, --count <n>', 'how many workers', integerOption('--count'))
      .option('--concurrency <n>', 'how many jobs each runs at once', integerOption('--concurrency'))
      .option('--queue <names>', 'only jobs of these queues')
      .action((options: { count?: number; concurrency?: number; queue?: string }, command: Command) => workerRun({ ...options, foreground: true }, command)),
    hidden,
  );
  program.addCommand(
    new Command('worker-stop').option('--no-wait').option('--timeout <duration>').option('--host <host>').action(action('workerStop', program)),
    hidden,
  );
}

/** The one exit point: expected errors print one line on stderr; anything else is an internal error. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitCode = exitCodeFor(err);
  }
  process.exitCode = exitCode;
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; they exit 0.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (isQueueError(err)) {
    process.stderr.write(`queuectl: ${err.message}\n`);
    return err.exitCode;
  }
  if (process.env.DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  process.stderr.write(`queuectl: internal error: ${(err as Error)?.message ?? String(err)} (set DEBUG=1 for details)\n`);
  return 70;
}
