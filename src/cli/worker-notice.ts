import type { Queue } from '../queue';

/** How often a waiting command looks again for a live worker. */
const CHECK_EVERY_MS = 3_000;

/**
 * Tells a person waiting on a job (`enqueue --wait`, `wait`, `logs --follow`) once, on stderr, when no live worker
 * could run it, so the wait is not silent; the wait goes on (a worker may start later). `check()` is cheap to call
 * on every poll: it reads the workers at most every few seconds, and never again once it has spoken.
 */
export class WorkerNotice {
  private nextCheckAt = 0;
  private told = false;

  constructor(private readonly queue: Queue) {}

  async check(): Promise<void> {
    if (this.told || Date.now() < this.nextCheckAt) return;
    this.nextCheckAt = Date.now() + CHECK_EVERY_MS;
    const workers = await this.queue.workers();
    if (workers.some((worker) => worker.alive)) return;
    this.told = true;
    process.stderr.write('queuectl: no worker is running; start one with queuectl worker start\n');
  }
}
