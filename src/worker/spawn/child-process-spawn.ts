import { spawn } from 'node:child_process';
import type { SpawnedJob, SpawnJobOptions } from './job-spawn';

/**
 * Node's own spawn, the fallback where the addon is missing: libuv forks, which copies the worker's page tables,
 * so each start costs more the bigger the worker is. `detached` makes the child a session leader.
 */
export function childProcessSpawn(options: SpawnJobOptions): SpawnedJob {
  const child = spawn(options.file, options.args, {
    cwd: options.cwd ?? undefined,
    env: options.env,
    detached: true,
    stdio: ['ignore', options.stdoutFd, options.stderrFd],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid ?? null;
  // Node's spawn has run the child (or failed) by the time it returns.
  const started = pid === null ? exited.then(() => Promise.reject(new Error('the process did not start'))) : Promise.resolve(pid);
  started.catch(() => undefined);
  return { pid, started, exited };
}
