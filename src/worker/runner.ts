import { statSync } from 'node:fs';
import type { AttemptOutcome } from '../core/job';
import { describeResult, type AttemptResult } from '../core/transitions';
import { setLongTimeout } from './long-timer';
import { OutputCapture, type OutputSink } from './output-capture';
import { processGroupExists } from '../platform/process-info';
import { groupHasMembers, spawnJob, type SpawnedJob } from './spawn';

/** How long a signalled job gets to exit before its whole process group is sent SIGKILL. */
export const KILL_GRACE_MS = 3000;
/** While a command runs, its output files are read this often, so `logs --follow` sees output live. */
export const OUTPUT_POLL_MS = 200;
/** ...and this often while a file fills fast, so it is emptied before it grows far past its limit. */
const FAST_OUTPUT_POLL_MS = 5;

export interface RunCommandOptions {
  command: string;
  cwd: string | null;
  env: NodeJS.ProcessEnv;
  timeoutSeconds: number | null;
  /** The worker's capture directory, where the command's stdout and stderr files are made (see OutputCapture). */
  captureDir: string;
  /** The attempt's files' name in captureDir (see attemptFileName); tests leave it to OutputCapture. */
  captureName?: string;
  /** The output limit: at most the last this many bytes of each stream are read at once (see OutputCapture). */
  captureLimitBytes: number;
  /** Given output as it is read: every OUTPUT_POLL_MS while the command runs, and once after it exited. */
  output: OutputSink;
  killGraceMs?: number;
}

/** Why the runner itself ended a command early. */
export type KillReason = Extract<AttemptOutcome, 'timeout' | 'cancelled' | 'stopped' | 'worker_lost'>;

/**
 * One command run as `sh -c` leading its own process group, so a timeout, a cancel or a recovery kills the whole
 * tree (SIGTERM, then SIGKILL after a grace), never only the shell. The attempt ends when the shell exits; what it
 * wrote is in its capture files, read then, and what it left running in its group is ended the same way.
 */
export class RunningCommand {
  readonly result: Promise<AttemptResult>;
  /** The job's process, once spawned (its pid may come a moment later: see SpawnedJob); null when it never was. */
  private child: SpawnedJob | null = null;
  /** A signal asked for while the process was still starting, sent as soon as it runs. */
  private signalOnStart: NodeJS.Signals | null = null;
  private killReason: KillReason | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private readonly graceMs: number;
  private readonly timeoutSeconds: number | null;

  constructor(options: RunCommandOptions) {
    this.graceMs = options.killGraceMs ?? KILL_GRACE_MS;
    this.timeoutSeconds = options.timeoutSeconds;
    // A start that failed says why; a missing working directory is named as such (looked at only then: a stat per
    // job is a cost every job would pay).
    const startFailed = (err: Error): AttemptResult => ({
      outcome: 'spawn_error', exitCode: null, signal: null,
      error: `could not start: ${(options.cwd === null ? null : checkDirectory(options.cwd)) ?? err.message}`,
    });
    let capture: OutputCapture;
    try {
      capture = new OutputCapture(options.captureDir, options.captureLimitBytes, options.captureName);
    } catch (err) {
      this.result = Promise.resolve({ outcome: 'spawn_error', exitCode: null, signal: null, error: `could not start: cannot create its output file: ${(err as Error).message}` });
      return;
    }
    let child: SpawnedJob;
    try {
      child = spawnJob({
        file: '/bin/sh',
        args: ['-c', withExitStatus(options.command, capture.statusPath)],
        cwd: options.cwd,
        env: options.env,
        stdoutFd: capture.fds[0],
        stderrFd: capture.fds[1],
      });
    } catch (err) {
      capture.close();
      this.result = Promise.resolve(startFailed(err as Error));
      return;
    }
    this.child = child;
    void child.started.then(() => {
      if (this.signalOnStart !== null) this.signalGroup(this.signalOnStart);
    }, () => undefined);
    // Read while it runs; a job that ends within OUTPUT_POLL_MS is read once, at its end. A file that filled by a
    // quarter of its limit since the last read is read again at once (in FAST_OUTPUT_POLL_MS), so a job writing
    // gigabytes a second keeps its files a few megabytes long.
    let poll: NodeJS.Timeout | null = null;
    const schedulePoll = (ms: number) => {
      poll = setTimeout(() => {
        const { newBytes } = capture.read(options.output);
        if (poll !== null) schedulePoll(newBytes >= capture.emptyAt / 4 ? FAST_OUTPUT_POLL_MS : OUTPUT_POLL_MS);
      }, ms);
    };
    schedulePoll(OUTPUT_POLL_MS);

    let cancelTimeout: (() => void) | null = null;
    if (options.timeoutSeconds !== null && options.timeoutSeconds > 0) {
      // Any timeout the config accepts: setTimeout alone would fire at once for one past 24.8 days.
      cancelTimeout = setLongTimeout(() => this.kill('SIGTERM', 'timeout'), options.timeoutSeconds * 1000);
    }

    this.result = new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        cancelTimeout?.();
        if (poll !== null) clearTimeout(poll);
        poll = null;
        capture.read(options.output, true);
        capture.close();
        resolve(result);
      };
      child.exited.then(
        ({ code, signal }) => void this.afterExit(code, signal).then(finish),
        (err: Error) => finish(startFailed(err)),
      );
    });
  }

  private async afterExit(code: number | null, signal: NodeJS.Signals | null): Promise<AttemptResult> {
    // How it ended is settled now: a cancel arriving while leftovers are ended below does not change it.
    // A lost lease kills with SIGKILL, which no shell survives to exit with a code: a code means the command had
    // ended on its own before the kill (its exit was still unread, say after the worker was frozen), and that is
    // how it really ended.
    const endedFirst = this.killReason === 'worker_lost' && code !== null;
    const outcome: AttemptOutcome = endedFirst ? 'exit' : (this.killReason ?? 'exit');
    if (this.pid !== null && this.killReason === null && groupHasMembers(this.pid)) {
      // The shell exited but left processes in its group (`sleep 300 &`): they are ended like a killed job's.
      this.signalGroup('SIGTERM');
    }
    if (this.killTimer !== null && this.pid !== null) {
      // The shell is gone, but what it started may still be shutting down; wait out the grace, then the timer kills.
      while (this.killTimer !== null && processGroupExists(this.pid)) await new Promise((r) => setTimeout(r, 25));
    }
    if (this.killTimer) clearTimeout(this.killTimer);
    const exitCode = code;
    const result = { outcome, exitCode, signal: signal ?? null, timeoutSeconds: this.timeoutSeconds };
    return { outcome, exitCode, signal: signal ?? null, error: describeResult(result) };
  }

  /** The job's process (and process group) id: null until its process runs, and when it never did. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The pid once the process runs (a start on a busy threadpool can take a while); null when it never did. */
  async startedPid(): Promise<number | null> {
    if (this.child === null) return null;
    return this.child.started.catch(() => null);
  }

  /**
   * Signals the whole group now and SIGKILLs it after the grace. The first reason given is the one recorded. A
   * process still starting gets the signal as soon as it runs (SIGKILL wins over a milder one asked first).
   */
  kill(signal: NodeJS.Signals, reason: KillReason): void {
    if (this.child === null) return;
    this.killReason ??= reason;
    if (this.child.pid === null) {
      if (this.signalOnStart !== 'SIGKILL') this.signalOnStart = signal;
      return;
    }
    this.signalGroup(signal);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.pid === null) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
    if (signal !== 'SIGKILL' && this.killTimer === null) {
      this.killTimer = setTimeout(() => {
        this.killTimer = null;
        try {
          process.kill(-this.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, this.graceMs);
    } else if (signal === 'SIGKILL' && this.killTimer) {
      clearTimeout(this.killTimer);
      this.killTimer = null;
    }
  }
}

/**
 * The script `sh -c` runs: the command as given, after an EXIT trap that writes the shell's exit status to
 * `statusPath`, so a reaper learns how the command ended even when its worker died first (see reapLostJobs). The
 * trap costs no process: `echo` is built in. It does not run when the shell dies of a signal, or after the command
 * `exec`s another program; the reaper then knows nothing and records the worker lost. Subshells and background jobs
 * do not inherit it. Both the path and the trap are single-quoted, so nothing in them is ever expanded as code.
 */
export function withExitStatus(command: string, statusPath: string): string {
  const action = `{ echo $? > ${shellQuote(statusPath)}; } 2>/dev/null || :`;
  return `trap ${shellQuote(action)} EXIT; ${command}`;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function checkDirectory(path: string): string | null {
  try {
    return statSync(path).isDirectory() ? null : `working directory ${path} is not a directory`;
  } catch {
    return `working directory ${path} does not exist`;
  }
}
