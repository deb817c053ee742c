import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';

/**
 * What every measurement shares: the built CLI, a clean environment for the processes it starts, a cleanup stack
 * that runs even when a measurement fails, and the statistics we report.
 */

/** The compiled CLI, exactly what users run (`npm run bench` builds first). */
export const CLI_BIN = join(__dirname, '..', 'dist', 'cli', 'bin.js');

/**
 * The environment for every process the bench starts. NODE_EXTRA_CA_CERTS is dropped: loading a CA bundle adds tens
 * of milliseconds to each Node start on some machines, which would blur start-up and worker figures alike.
 */
export function benchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.DEBUG;
  return env;
}

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
}

/** Runs a process to completion and times it; rejects on a non-zero exit unless `allowFailure`. */
export function runProcess(file: string, args: string[], options: { env: NodeJS.ProcessEnv; allowFailure?: boolean }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const result = { code: code ?? -1, stdout, stderr, ms };
      if (result.code !== 0 && !options.allowFailure) {
        reject(new Error(`${file} ${args.join(' ')} exited ${result.code}: ${stderr.trim().split('\n')[0] ?? ''}`));
      } else resolve(result);
    });
  });
}

/** Runs `queuectl ARGS` with the given environment (which names the store). */
export function runCli(env: NodeJS.ProcessEnv, args: string[], options: { allowFailure?: boolean } = {}): Promise<Finished> {
  return runProcess(process.execPath, [CLI_BIN, ...args], { env, allowFailure: options.allowFailure });
}

/**
 * Undo steps registered as resources are acquired, run newest first. Each step runs even if an earlier one threw,
 * so a failed measurement still stops its workers and removes its files.
 */
export class Cleanup {
  private readonly steps: { what: string; fn: () => unknown }[] = [];

  defer(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  async runAll(log: (line: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        log(`cleanup: ${step.what} failed: ${(err as Error).message}`);
      }
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `intervalMs` until it holds; the error names what was awaited. */
export async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, intervalMs: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** The median (mean of the middle two for an even count). */
export function median(samples: number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Progress lines go to stderr, so stdout holds only the results table. */
export const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

/**
 * A measuring child: `node SCRIPT ARGS` in its own session (with the kernel's autogroup scheduling a session is the
 * unit that gets a fair share of the CPU, as each worker has), which prints "ready", waits for a line on stdin, and
 * prints its figures as one JSON line before exiting 0. `ready` resolves on "ready"; `done` with the JSON.
 */
export function startMeasuringChild<T>(script: string, args: string[], what: string): { child: ChildProcessByStdio<Writable, Readable, null>; ready: Promise<void>; done: Promise<T> } {
  const child = spawn(process.execPath, [script, ...args], { env: benchEnv(), stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${what} exited ${code} before it was ready`)));
  });
  const done = new Promise<T>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('ready\n') + 6)) as T) : reject(new Error(`${what} exited ${code}`)))),
  );
  done.catch(() => undefined); // awaited by the caller; a failure before then must not crash the bench as unhandled
  return { child, ready, done };
}
