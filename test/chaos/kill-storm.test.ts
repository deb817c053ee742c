import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends } from '../support/backends';
import { ChaosRun } from './chaos-run';
import { PROFILE } from './profile';

/** The storm's pace: a kill every 1-2 s. A schedule of faults, not a wait for a condition. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 1000));

for (const backend of backends()) {
  describe(`chaos: kill storm (${backend.name}, ${PROFILE.name} profile)`, { skip: backend.skip }, () => {
    // A job that ends after its worker died is recorded worker_lost and run again: its real outcome is lost.
    it(`kill -9 a random worker every 1-2 s while ${PROFILE.stormJobs} jobs drain, replacing it`, async (t) => {
      const run = await ChaosRun.open(t, backend);
      await run.ok(['config', 'set', 'lease-timeout', '5']);
      await run.ok(['config', 'set', 'backoff-base', '1']);
      // Every 10th job fails (exit 3) with one retry: it ends dead with exit 3, unless kills used up its attempts.
      const specs = run.jobs({ prefix: 'storm', count: PROFILE.stormJobs, failEvery: 10 });
      for (const spec of specs) if (String(spec.command).includes('(exit 3)')) spec.max_retries = 1;
      const half = Math.ceil(specs.length / 2);
      assert.equal((await run.enqueue(specs.slice(0, half))).code, 0);
      await run.startWorkers(PROFILE.stormWorkers);

      const deadline = Date.now() + PROFILE.stormJobs * 1000;
      while (!(await run.allEnded())) {
        assert.ok(Date.now() < deadline, `the jobs drained within ${PROFILE.stormJobs} s`);
        await pause();
        const live = run.liveWorkers();
        const victim = live[Math.floor(Math.random() * live.length)];
        if (victim !== undefined) run.kill(victim);
        await run.startWorkers(1);
        // The second half is enqueued while the storm rages: acknowledged under fault, it must not be lost either.
        if (run.acknowledged.size < specs.length) {
          const result = await run.enqueue(specs.slice(half));
          assert.equal(result.code, 0, `enqueue during the storm: ${result.stderr}`);
        }
      }
      await run.finish(t, 'kill storm');
    });
  });
}
