import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wait } from '../../../src/follow';
import { Queue } from '../../../src/queue';
import { backends } from '../../support/backends';
import { CliSession, exitCodeOf } from '../../support/cli-session';

const MANY = 300;

/**
 * Issue 13: `wait` waits on the store's wake-ups with one query per wake-up for all the jobs still open, instead of
 * one query per job every 100 ms. The jobs wait on one gated job, so they are all open when the wait begins and
 * then end in a stream, run by real workers.
 */
for (const backend of backends()) {
  describe(`wait on many jobs (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {
    async function gatedBatch(s: CliSession, prefix: string): Promise<{ ids: string[]; open: () => void }> {
      const gate = s.gate(`${prefix}-gate`);
      const ids = Array.from({ length: MANY }, (_, i) => `${prefix}-${i}`);
      await s.enqueueMany([
        { id: `${prefix}-first`, command: gate.wait },
        ...ids.map((id) => ({ id, command: 'true', depends_on: [`${prefix}-first`] })),
      ]);
      return { ids: [`${prefix}-first`, ...ids], open: gate.open };
    }

    it('each wake-up the store sends is one query for all the open jobs, and nothing polls in between', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const ids = Array.from({ length: MANY }, (_, i) => `later-${i}`);
      await s.enqueueMany(ids.map((id) => ({ id, command: 'true', delay: 3600 })));
      const reads = { getJobs: 0, getJob: 0 };
      // The real store, counting the reads wait makes.
      const counted = new Proxy(s.store, {
        get(target, name, receiver) {
          const value: unknown = Reflect.get(target, name, receiver);
          if (typeof value !== 'function') return value;
          if (name === 'getJobs' || name === 'getJob') return (...args: unknown[]) => (reads[name]++, value.apply(target, args));
          return value.bind(target);
        },
      });
      let looks = 0;
      const waited = wait(new Queue(counted), ids, { pollMs: 600_000, timeoutMs: 60_000, onLook: async () => void looks++ });
      await s.waitFor('the first look', () => looks === 1);
      // Another process ends one of them (a cancel): the store tells whoever listens for ends (a file, NOTIFY).
      await s.ok(['cancel', ids[0]!]);
      await s.waitFor('a look after the end', () => looks >= 2, 10_000);
      assert.deepEqual(reads, { getJobs: looks, getJob: 0 }, 'one query per look');
      // The rest end: the next wake-up finds them all ended and the wait returns.
      await s.ok(['cancel', ...ids.slice(1)]);
      const { jobs, timedOut } = await waited;
      assert.equal(timedOut, false);
      assert.ok(jobs.every((job) => job.state === 'cancelled'));
      // One query per look (the last one ended the wait), whatever the number of jobs; a look per wake-up, no more.
      assert.deepEqual(reads, { getJobs: looks + 1, getJob: 0 });
      assert.ok(looks <= 4, `${looks} looks for 2 ends`);
    });

    it('queuectl wait returns once all of them completed, printing each', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const batch = await gatedBatch(s, 'c');
      await s.startWorkers(2);
      const waiter = s.start(['wait', ...batch.ids, '--timeout', '2m']);
      await s.waitForRunning('c-first');
      assert.equal(waiter.output().stdout, '', 'still waiting while the first job runs');
      batch.open();
      assert.equal(await exitCodeOf(waiter, 'wait', 120_000), 0, waiter.output().stderr);
      assert.equal(waiter.output().stdout, batch.ids.map((id) => `${id}  completed\n`).join(''));
      assert.equal(waiter.output().stderr, '');
    });

    it('the library wait is woken by the store: with a 10-minute fallback poll it still returns as the jobs end', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const batch = await gatedBatch(s, 'l');
      await s.startWorkers(2);
      let looks = 0;
      // Bounded, so that without wake-ups the test fails in 30 s rather than hang: then it returns long after the end.
      const waited = wait(new Queue(s.store), batch.ids, { pollMs: 600_000, timeoutMs: 30_000, onLook: async () => void looks++ });
      await s.waitForRunning('l-first');
      batch.open();
      const ended = await s.waitFor('every job to end', async () => (await s.store.getJobs({ ids: batch.ids })).every((job) => job.state === 'completed'), 120_000);
      assert.ok(ended);
      const endedAt = Date.now();
      const { jobs } = await waited;
      const lagMs = Date.now() - endedAt;
      t.diagnostic(`returned ${lagMs} ms after the last job ended, after ${looks} looks`);
      assert.deepEqual(jobs.map((job) => [job.id, job.state]), batch.ids.map((id) => [id, 'completed']));
      // Returned on a wake-up (the fallback poll is 10 minutes away), and promptly.
      assert.ok(lagMs < 10_000, `wait returned ${lagMs} ms after the last job ended`);
      assert.ok(looks < MANY, `${looks} looks for ${MANY + 1} jobs: one per wake-up, coalesced, not one per job`);
    });
  });
}
