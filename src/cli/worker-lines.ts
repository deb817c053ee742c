import type { ListedWorker } from '../queue';

/** A worker's state with its slots in use, as `worker list` and `status` show it: `busy 3/8`, `idle 0/1`, `gone`. */
export function workerSlots(worker: ListedWorker): string {
  return worker.alive ? `${worker.state} ${worker.runningJobs.length}/${worker.concurrency}` : 'gone';
}

/** One line per live worker for `status`: its slots in use, where it runs, and every job it runs. */
export function workerStatusLines(workers: ListedWorker[]): string[] {
  return workers
    .filter((worker) => worker.alive)
    .map((worker) => {
      const queues = worker.queues === null ? '' : ` queues ${worker.queues.join(',')}`;
      const jobs = worker.runningJobs.length === 0 ? '' : `: ${worker.runningJobs.join(' ')}`;
      return `  ${worker.id} (${worker.host} pid ${worker.pid}) ${workerSlots(worker)}${queues}${jobs}`;
    });
}
