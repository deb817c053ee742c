import { spawn } from 'node:child_process';

/** Longest a finish hook may run before it is killed. */
const HOOK_TIMEOUT_MS = 60_000;

/**
 * Runs the `on-finish` command after a job ends (like pueue's callback or task-spooler's TS_ONFINISH). Its failure is
 * logged and never changes the job.
 */
export function runFinishHook(params: { command: string; jobId: string; state: string; exitCode: number | null; log: (line: string) => void }): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', params.command], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, QUEUECTL_JOB_ID: params.jobId, QUEUECTL_STATE: params.state, QUEUECTL_EXIT_CODE: params.exitCode === null ? '' : String(params.exitCode) },
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, HOOK_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      params.log(`on-finish hook for ${params.jobId} could not start: ${err.message}`);
      resolve();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) params.log(`on-finish hook for ${params.jobId} failed: ${signal ? `killed by ${signal}` : `exit code ${code}`}`);
      resolve();
    });
  });
}
