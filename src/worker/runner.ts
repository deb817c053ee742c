import { statSync } from 'node:fs';
import type { AttemptOutcome, OutputStream } from '../core/job';
import { describeResult, type AttemptResult } from '../core/transitions';
import { OutputCapture } from './output-capture';
import { processGroupExists } from './process-info';
import { spawnJob, type SpawnedJob } from './spawn';

/** How long a signalled job gets to exit before its whole process group is sent SIGKILL. */
export const KILL_GRACE_MS = 3000;
/** While a command runs, its output files are read this often, so `logs --follow` sees output live. */
export const OUTPUT_POLL_MS = 200;

export interface RunCommandOptions {
  command: string;
  cwd: string | null;
  env: NodeJS.ProcessEnv;
  timeoutSeconds: number | null;
  /** The worker's capture directory, where the command's stdout and stderr files are made (see OutputCapture). */
  captureDir: string;
  /** Bytes of a capture file read before it is emptied. */
  captureLimitBytes: number;
  /** Called with output as it is read: every OUTPUT_POLL_MS while the command runs, and once after it exited. */
  onOutput(stream: OutputStream, data: string): void;
  killGraceMs?: number;
}

/** Why the runner itself ended a command early. */
export type KillReason = Extract<AttemptOutcome, 'timeout' | 'cancelled' | 'stopped' | 'worker_lost'>;

/**
 * One command run as `sh -c` leading its own process group, so a timeout, a cancel or a recovery kills the whole
 * tree (SIGTERM, then SIGKILL after a grace), never only the shell. The attempt ends when the shell exits; what it
 * wrote is in its capture files, read then.
 */
export class RunningCommand {
  readonly pid: number | null;
  readonly result: Promise<AttemptResult>;
  private killReason: KillReason | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private readonly graceMs: number;
  private readonly timeoutSeconds: number | null;

  constructor(options: RunCommandOptions) {
    this.graceMs = options.killGraceMs ?? KILL_GRACE_MS;
    this.timeoutSeconds = options.timeoutSeconds;
    const cwdProblem = options.cwd === null ? null : checkDirectory(options.cwd);
    if (cwdProblem) {
      this.pid = null;
      this.result = Promise.resolve({ outcome: 'spawn_error', exitCode: null, signal: null, error: `could not start: ${cwdProblem}` });
      return;
    }
    let capture: OutputCapture;
    try {
      capture = new OutputCapture(options.captureDir, options.captureLimitBytes);
    } catch (err) {
      this.pid = null;
      this.result = Promise.resolve({ outcome: 'spawn_error', exitCode: null, signal: null, error: `could not start: cannot create its output file: ${(err as Error).message}` });
      return;
    }
    let child: SpawnedJob;
    try {
      child = spawnJob({ file: '/bin/sh', args: ['-c', options.command], cwd: options.cwd, env: options.env, stdoutFd: capture.fds[0], stderrFd: capture.fds[1] });
    } catch (err) {
      capture.close();
      this.pid = null;
      this.result = Promise.resolve({ outcome: 'spawn_error', exitCode: null, signal: null, error: `could not start: ${(err as Error).message}` });
      return;
    }
    this.pid = child.pid ?? null;
    // Read while it runs; a job that ends within OUTPUT_POLL_MS is read once, at its end.
    const poll = setInterval(() => capture.read(options.onOutput), OUTPUT_POLL_MS);

    let timeout: NodeJS.Timeout | null = null;
    if (options.timeoutSeconds !== null && options.timeoutSeconds > 0) {
      timeout = setTimeout(() => this.kill('SIGTERM', 'timeout'), options.timeoutSeconds * 1000);
    }

    this.result = new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        if (timeout) clearTimeout(timeout);
        clearInterval(poll);
        capture.read(options.onOutput, true);
        capture.close();
        resolve(result);
      };
      child.exited.then(
        ({ code, signal }) => void this.afterExit(code, signal).then(finish),
        (err: Error) => finish({ outcome: 'spawn_error', exitCode: null, signal: null, error: `could not start: ${err.message}` }),
      );
    });
  }

  private async afterExit(code: number | null, signal: NodeJS.Signals | null): Promise<AttemptResult> {
    if (this.killReason !== null && this.pid !== null) {
      // The shell is gone, but what it started may still be shutting down; wait out the grace, then the timer kills.
      while (this.killTimer !== null && processGroupExists(this.pid)) await new Promise((r) => setTimeout(r, 25));
    }
    if (this.killTimer) clearTimeout(this.killTimer);
    const outcome: AttemptOutcome = this.killReason ?? 'exit';
    const exitCode = code;
    const result = { outcome, exitCode, signal: signal ?? null, timeoutSeconds: this.timeoutSeconds };
    return { outcome, exitCode, signal: signal ?? null, error: describeResult(result) };
  }

  /** Signals the whole group now and SIGKILLs it after the grace. The first reason given is the one recorded. */
  kill(signal: NodeJS.Signals, reason: KillReason): void {
    if (this.pid === null) return;
    this.killReason ??= reason;
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

function checkDirectory(path: string): string | null {
  try {
    return statSync(path).isDirectory() ? null : `working directory ${path} is not a directory`;
  } catch {
    return `working directory ${path} does not exist`;
  }
}
