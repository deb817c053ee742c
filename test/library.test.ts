import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { follow, openQueue, wait, Worker, type JobSpecInput, type Queue } from '../src/index';
import { tempDir } from './support/temp-store';

/** Issue 13: the library's typed job input, and wait/follow for library users. */
describe('library wait and follow', () => {
  let dir: { dir: string; cleanup: () => void };
  let queue: Queue;
  let worker: Worker;
  let running: Promise<void>;
  before(async () => {
    dir = tempDir();
    queue = await openQueue(join(dir.dir, 'queue.db'));
    worker = new Worker({ store: queue.store, log: () => undefined });
    running = worker.run();
  });
  after(async () => {
    await worker.stop('graceful');
    await running;
    await queue.close();
    dir.cleanup();
  });

  it('waits for jobs and follows their output', async () => {
    const spec: JobSpecInput = { id: 'lib-1', command: 'echo one; echo two >&2', timeout: '1m', delay: 0 };
    // @ts-expect-error: a typed field refuses the wrong type at compile time.
    const wrong: JobSpecInput = { command: 'true', priority: 'high' };
    assert.ok(wrong);
    await queue.add(spec);
    const chunks: string[] = [];
    const iterator = follow(queue, 'lib-1', { pollMs: 20 });
    let step = await iterator.next();
    while (!step.done) {
      chunks.push(`${step.value.stream}:${step.value.data}`);
      step = await iterator.next();
    }
    assert.equal(step.value.state, 'completed');
    assert.deepEqual(chunks.sort(), ['stderr:two\n', 'stdout:one\n']);
    const { jobs, timedOut } = await wait(queue, ['lib-1'], { timeoutMs: 10_000 });
    assert.deepEqual([jobs[0]!.state, timedOut], ['completed', false]);
  });
});
