import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The built CLI: end-to-end tests run exactly what users run (`npm test` builds first). */
export const CLI_BIN = join(__dirname, '..', '..', 'dist', 'cli', 'bin.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  /** QUEUECTL_DB for the child. */
  location: string;
  /** Extra variables (e.g. QUEUECTL_SCHEMA for PostgreSQL). */
  env?: Record<string, string>;
  cwd?: string;
}

function childEnv(target: CliEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, QUEUECTL_DB: target.location, NO_COLOR: '1', ...target.env, ...extra };
}

/** Runs `queuectl ARGS` to completion. */
export function runCli(target: CliEnv, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: target.cwd, env: childEnv(target, options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Synchronous variant for quick set-up steps. */
export function runCliSync(target: CliEnv, args: string[]): CliResult {
  const result = spawnSync(process.execPath, [CLI_BIN, ...args], { cwd: target.cwd, env: childEnv(target), encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Starts a long-running CLI process (e.g. `worker start --foreground`, `logs --follow`) and collects its output. */
export function startCli(target: CliEnv, args: string[], options: { env?: Record<string, string> } = {}): { child: ChildProcess; output: () => { stdout: string; stderr: string }; exited: Promise<number> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: target.cwd, env: childEnv(target, options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return { child, output: () => ({ stdout, stderr }), exited };
}
