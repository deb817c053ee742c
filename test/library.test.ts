import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConflictError, follow, openQueue, UsageError, wait, Worker, type JobSpecInput, type Queue, type Schedule, type ScheduleSpecInput } from '../src/index';
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

/** Schedules through the library: the same JSON shape as `schedule add`, validated the same way. */
describe('library schedules', () => {
  let dir: { dir: string; cleanup: () => void };
  let queue: Queue;
  before(async () => {
    dir = tempDir();
    queue = await openQueue(join(dir.dir, 'queue.db'));
  });
  after(async () => {
    await queue.close();
    dir.cleanup();
  });

  it('adds a schedule from plain fields, lists it and runs it on demand; bad input is a UsageError that stores nothing', async () => {
    const input: ScheduleSpecInput = { name: 'nightly', cron: '0 3 * * *', tz: 'UTC', command: 'echo nightly', queue: 'reports', no_overlap: true };
    const schedule: Schedule = await queue.addSchedule(input);
    assert.deepEqual([schedule.name, schedule.timeZone, schedule.noOverlap, schedule.job.command, schedule.job.queue], ['nightly', 'UTC', true, 'echo nightly', 'reports']);
    assert.equal(new Date(schedule.nextRunAt).getUTCHours(), 3);
    assert.equal(schedule.job.cwd, process.cwd(), 'its jobs run where it was added');

    await assert.rejects(queue.addSchedule({ name: 'nightly', every: '10m', command: 'true' }), ConflictError);
    const replaced = await queue.addSchedule({ name: 'nightly', every: '10m', command: 'true' }, { replace: true });
    assert.equal(replaced.job.command, 'true');
    for (const bad of [{ name: 'x', cron: 'not cron', command: 'true' }, { name: 'y', command: 'true' }, { name: 'bad name!', every: '1m', command: 'true' }, { name: 'z', every: '1m' }]) {
      await assert.rejects(queue.addSchedule(bad), UsageError, JSON.stringify(bad));
    }
    assert.deepEqual((await queue.scheduleList()).map((s) => s.name), ['nightly'], 'refused schedules stored nothing');

    const job = await queue.scheduleRun('nightly');
    assert.equal((await queue.getJob(job.id)).command, 'true');
    await queue.scheduleRemove('nightly');
    assert.deepEqual(await queue.scheduleList(), []);
  });
});
