import { parseJobSpec } from '../../src/core/job-spec';
import { Dashboard } from '../../src/dashboard/server';
import { Queue } from '../../src/queue';
import type { Store } from '../../src/store/store';

/*
 * What the dashboard tests share: a real server on a random loopback port over a real store, and jobs driven through
 * the worker's own store calls (claim, output, finish) so a test sets up runs without spawning commands.
 */

export interface RunningDashboard {
  url: string;
  queue: Queue;
  dashboard: Dashboard;
  close: () => Promise<void>;
}

export async function startDashboard(store: Store, options: { token?: string | null; host?: string } = {}): Promise<RunningDashboard> {
  const queue = new Queue(store);
  const dashboard = new Dashboard({ host: options.host ?? '127.0.0.1', port: 0, token: options.token ?? null, openQueue: async () => queue });
  const { url } = await dashboard.listen();
  return { url, queue, dashboard, close: () => dashboard.close() };
}

export async function enqueue(store: Store, job: { id: string; command: string; max_retries?: number; delay?: number }): Promise<void> {
  await store.enqueue({ jobs: [parseJobSpec({ max_retries: 0, ...job }, process.cwd()).job], ifNotExists: false });
}

/** Claims the next job as worker `workerId` (registered first) and returns its attempt. */
export async function claim(store: Store, workerId = 'w-test'): Promise<{ id: string; attempt: number }> {
  await store.registerWorker({ worker: { id: workerId, host: 'test-host', pid: process.pid, pidStart: null }, concurrency: 1, queues: null });
  const [claimed] = await store.claim({ workerId, host: 'test-host', leaseMs: 60_000, limit: 1, queues: null });
  if (!claimed) throw new Error('nothing to claim');
  await store.heartbeat({ workerId, state: 'busy', jobIds: [claimed.job.id], leaseMs: 60_000 });
  return { id: claimed.job.id, attempt: claimed.attempt };
}

/** Ends a claimed attempt: exit 0 completes it; any other code makes it dead (the jobs here have no retries). */
export async function finish(store: Store, run: { id: string; attempt: number }, exitCode: number, workerId = 'w-test'): Promise<void> {
  const ok = exitCode === 0;
  await store.finishAttempt({
    jobId: run.id, workerId, attempt: run.attempt,
    result: { outcome: 'exit', exitCode, signal: null, error: ok ? null : `exit code ${exitCode}` },
    next: { state: ok ? 'completed' : 'dead', retryDelayMs: 0, countsAttempt: true },
  });
}

export async function output(store: Store, run: { id: string; attempt: number }, data: string): Promise<void> {
  await store.appendOutput({ jobId: run.id, attempt: run.attempt, chunks: [{ stream: 'stdout', data }], limitBytes: 1_000_000 });
}

/** A JSON request to the dashboard, as the page sends it (POSTs with the JSON type and the dashboard's header). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read whatever JSON each route answers
export async function call(base: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const post = options.body !== undefined;
  const res = await fetch(new URL(path, base), {
    method: post ? 'POST' : 'GET',
    headers: { ...(post ? { 'content-type': 'application/json', 'x-queuectl': '1' } : {}), ...options.headers },
    body: post ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON (the page, /metrics): the text.
  }
  return { status: res.status, json, headers: res.headers };
}
