import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { QueueRecord } from '../../../src/core/queue-settings';
import type { ClaimedJob, Store } from '../../../src/store/store';
import { waitFor } from '../../support/wait-for';
import { ok, exit, next, newJob, zeroCounts, claimIds, runAttempt } from './job-builders';
import type { ContractIt, StoreUnderTest } from './store-under-test';

/** Finishes a claimed job as completed; true when the finish applied. */
function complete(store: Store, claimed: ClaimedJob): Promise<boolean> {
  return store.finishAttempt({ jobId: claimed.job.id, workerId: claimed.job.workerId!, attempt: claimed.attempt, result: ok, next: next('completed') });
}

async function queueNamed(store: Store, name: string): Promise<QueueRecord | undefined> {
  return (await store.listQueues()).find((queue) => queue.name === name);
}

/**
 * Claims, one claim at a time, until `count` jobs of a rate-limited queue have started; between claims that start
 * nothing it lets store time pass up to the next start nextRunAt names, and `lateMs` more (a late wake-up). Returns
 * the start times (by the store's clock).
 */
async function startsUnderRate(
  subject: StoreUnderTest,
  count: number,
  options: { idleAfter?: number; idleMs?: number; lateMs?: (started: number) => number } = {},
): Promise<number[]> {
  const { store, elapse } = subject;
  const starts: number[] = [];
  while (starts.length < count) {
    const claimed = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 5, queues: null });
    assert.ok(claimed.length <= 1, 'a rate-limited queue starts at most one job per claim');
    if (claimed.length === 1) {
      const [attempt] = await store.listAttempts({ jobId: claimed[0]!.job.id });
      starts.push(attempt!.startedAt);
      if (starts.length === options.idleAfter) await elapse(options.idleMs ?? 0);
      continue;
    }
    const at = await store.nextRunAt({ queues: null });
    assert.ok(at !== null, 'nextRunAt names the next start the rate allows');
    await elapse(Math.max(1, at - (await store.now())) + (options.lateMs?.(starts.length) ?? 0));
  }
  return starts;
}

/** Named queues and their settings: pause, concurrency limits, rates; and how listQueues reports them. */
export function queuesContract(it: ContractIt): void {
  describe('queues', () => {
    it('stores each job\'s queue; listQueues counts every queue with jobs or settings, by name, zero-filled', async ({ store }) => {
      const [email] = await store.enqueue({ jobs: [newJob('e1', { queue: 'email', priority: 2 }), newJob('e2', { queue: 'email' }), newJob('d1')], ifNotExists: false });
      assert.equal(email?.job.queue, 'email');
      assert.deepEqual((await store.getJob({ id: 'e1' }))?.queue, 'email');
      assert.equal((await store.getJob({ id: 'd1' }))?.queue, 'default');
      await runAttempt(store, 'e1', ok, next('completed'));
      await store.enqueue({ jobs: [newJob('e3', { queue: 'email', priority: 1 }), newJob('e4', { queue: 'email' }), newJob('d2', { dependsOn: ['d1'] })], ifNotExists: false });
      await runAttempt(store, 'e3', exit(1), next('failed', 3_600_000));
      const [running] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: ['email'] });
      assert.equal(running?.job.id, 'e2');
      await store.setQueue({ name: 'video', concurrency: 2 });

      assert.deepEqual(await store.listQueues(), [
        { name: 'default', counts: { ...zeroCounts(), pending: 1, waiting: 1 }, capped: [], running: 0, concurrency: null, rate: null, paused: false },
        { name: 'email', counts: { ...zeroCounts(), completed: 1, processing: 1, failed: 1, pending: 1 }, capped: [], running: 1, concurrency: null, rate: null, paused: false },
        { name: 'video', counts: zeroCounts(), capped: [], running: 0, concurrency: 2, rate: null, paused: false },
      ]);
      // Counted up to a cap (what status asks, so its cost stays bounded): a state at the cap is "at least".
      await store.enqueue({ jobs: [newJob('e5', { queue: 'email' }), newJob('e6', { queue: 'email' })], ifNotExists: false });
      assert.deepEqual(await store.listQueues({ cap: 2 }), [
        { name: 'default', counts: { ...zeroCounts(), pending: 1, waiting: 1 }, capped: [], running: 0, concurrency: null, rate: null, paused: false },
        { name: 'email', counts: { ...zeroCounts(), completed: 1, processing: 1, failed: 1, pending: 2 }, capped: ['pending'], running: 1, concurrency: null, rate: null, paused: false },
        { name: 'video', counts: zeroCounts(), capped: [], running: 0, concurrency: 2, rate: null, paused: false },
      ]);
    });

    it('setQueue changes only the fields given, null lifts, and returns the queue', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('v1', { queue: 'video' })], ifNotExists: false });
      const set = await store.setQueue({ name: 'video', concurrency: 3, rate: { count: 10, periodMs: 1_000 } });
      assert.deepEqual(set, { name: 'video', counts: { ...zeroCounts(), pending: 1 }, capped: [], running: 0, concurrency: 3, rate: { count: 10, periodMs: 1_000 }, paused: false });
      assert.deepEqual(await store.setQueue({ name: 'video', paused: true }), { ...set, paused: true }, 'pausing keeps the limit and the rate');
      assert.deepEqual(await store.setQueue({ name: 'video', concurrency: null }), { ...set, paused: true, concurrency: null });
      assert.deepEqual(await store.setQueue({ name: 'video', rate: null, paused: false }), { ...set, concurrency: null, rate: null });
      assert.deepEqual(await store.setQueue({ name: 'video' }), { ...set, concurrency: null, rate: null }, 'no fields: nothing changes');
      assert.deepEqual(await queueNamed(store, 'video'), { ...set, concurrency: null, rate: null });
      assert.deepEqual(await store.setQueue({ name: 'empty', paused: true }), {
        name: 'empty', counts: zeroCounts(), capped: [], running: 0, concurrency: null, rate: null, paused: true,
      }, 'a queue need not have jobs to be set');
    });

    it('a paused queue gives nothing to a claim; its running jobs finish; resuming makes its jobs claimable', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('p1', { queue: 'slow', priority: 5 }), newJob('p2', { queue: 'slow', priority: 5 }), newJob('f1', { queue: 'fast' })], ifNotExists: false });
      const [running] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
      assert.equal(running?.job.id, 'p1');
      assert.equal((await store.setQueue({ name: 'slow', paused: true })).paused, true);
      assert.deepEqual(await claimIds(store, 10), ['f1'], 'only the unpaused queue gives jobs');
      assert.deepEqual(await claimIds(store, 10, ['slow']), []);
      assert.equal(await complete(store, running), true, 'a running job of a paused queue still reports');
      assert.deepEqual((await queueNamed(store, 'slow'))?.counts, { ...zeroCounts(), pending: 1, completed: 1 });
      await store.setQueue({ name: 'slow', paused: false });
      assert.deepEqual(await claimIds(store, 10), ['p2']);
    });

    it('a concurrency limit caps the queue\'s processing jobs; a finish frees a slot', async ({ store }) => {
      await store.setQueue({ name: 'capped', concurrency: 2 });
      await store.enqueue({
        jobs: [...['c1', 'c2', 'c3', 'c4'].map((id) => newJob(id, { queue: 'capped', priority: 1 })), newJob('free1'), newJob('free2')],
        ifNotExists: false,
      });
      const first = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 3, queues: null });
      assert.deepEqual(first.map((c) => c.job.id), ['c1', 'c2', 'free1'], 'two of the capped queue, then the next in claim order');
      assert.deepEqual(await claimIds(store, 3, ['capped']), [], 'the queue is at its limit');
      assert.equal(await complete(store, first[0]!), true);
      assert.deepEqual(await claimIds(store, 3), ['c3', 'free2'], 'the freed slot is taken, and no more');
      assert.equal((await queueNamed(store, 'capped'))?.running, 2);
      await store.setQueue({ name: 'capped', concurrency: 3 });
      assert.deepEqual(await claimIds(store, 3), ['c4'], 'a raised limit lets one more start');
    });

    it('a limit of 3 is never exceeded by claimers racing on separate connections, whatever the order', async ({ store, connect }) => {
      const claimers = [store, ...(await Promise.all(Array.from({ length: 3 }, () => connect())))];
      await store.setQueue({ name: 'capped', concurrency: 3 });
      const capped = Array.from({ length: 30 }, (_, i) => `capped-${i}`);
      const free = Array.from({ length: 30 }, (_, i) => `free-${i}`);
      // Interleaved so that every claim meets capped jobs among free ones; capped ones first in claim order.
      await store.enqueue({ jobs: capped.flatMap((id, i) => [newJob(id, { queue: 'capped', priority: 1 }), newJob(free[i]!, { queue: 'free' })]), ifNotExists: false });
      const held = claimers.map(() => [] as ClaimedJob[]);
      const started = new Set<string>();
      let maxCapped = 0;
      for (let round = 0; started.size < capped.length + free.length; round++) {
        assert.ok(round < 200, `all jobs started within 200 rounds (started ${started.size})`);
        // Every claimer at once: those holding a job report one and claim in the same call, the others just claim.
        const results = await Promise.all(
          claimers.map(async (claimer, i) => {
            const claim = { workerId: `w${i}`, host: 'h', leaseMs: 60_000, limit: 1 + ((round + i) % 4), queues: null };
            const done = (round + i) % 3 === 0 ? held[i]!.shift() : undefined;
            if (!done) return claimer.claim(claim);
            const finish = { jobId: done.job.id, workerId: `w${i}`, attempt: done.attempt, result: ok, next: next('completed') };
            const reported = await claimer.finishAndClaim({ finishes: [finish], claim });
            assert.deepEqual(reported.finished, [true]);
            return reported.next;
          }),
        );
        results.forEach((claimed, i) => {
          for (const c of claimed) {
            assert.ok(!started.has(c.job.id), `${c.job.id} claimed once`);
            started.add(c.job.id);
            held[i]!.push(c);
          }
        });
        const running = held.flat().filter((c) => c.job.queue === 'capped').length;
        maxCapped = Math.max(maxCapped, running);
        assert.ok(running <= 3, `round ${round}: ${running} capped jobs running`);
        assert.equal((await queueNamed(store, 'capped'))?.running, running, 'the store counts what the claimers hold');
        // Some claimers also finish a job on their own, racing the next round's claims of the others.
        const finished = await Promise.all(held.map((jobs, i) => (round % 2 === i % 2 && jobs.length > 0 ? complete(claimers[i]!, jobs.shift()!) : true)));
        assert.ok(finished.every(Boolean), 'every finish applied');
      }
      assert.equal(maxCapped, 3, 'the limit was reached');
    });

    it('a paused or full queue\'s backlog ahead of the others in claim order does not hide them', async ({ store }) => {
      const backlog = (queue: string, n: number) => Array.from({ length: n }, (_, i) => newJob(`${queue}-${i}`, { queue, priority: 5 }));
      await store.enqueue({ jobs: [...backlog('held', 300), ...backlog('full', 300)], ifNotExists: false });
      await store.enqueue({
        jobs: [newJob('x1', { queue: 'x', priority: 1 }), newJob('y1', { queue: 'y', priority: 2 }), newJob('x2', { queue: 'x', priority: 1 }), newJob('y2', { queue: 'y' })],
        ifNotExists: false,
      });
      await store.setQueue({ name: 'held', paused: true });
      await store.setQueue({ name: 'full', concurrency: 2 });
      assert.deepEqual(await claimIds(store, 3), ['full-0', 'full-1', 'y1'], 'the full queue up to its limit, then the best of the others');
      assert.deepEqual(await claimIds(store, 2), ['x1', 'x2']);
      assert.deepEqual(await claimIds(store, 1), ['y2']);
      assert.deepEqual(await claimIds(store, 5), []);
      await store.setQueue({ name: 'held', paused: false });
      assert.deepEqual(await claimIds(store, 2, ['x', 'held']), ['held-0', 'held-1']);
    });

    it('a rate starts at most one job per claim, and nextRunAt names the next start it allows', async ({ store }) => {
      await store.setQueue({ name: 'api', rate: { count: 1, periodMs: 60_000 } });
      await store.enqueue({ jobs: [newJob('a1', { queue: 'api', priority: 1 }), newJob('a2', { queue: 'api', priority: 1 }), newJob('other')], ifNotExists: false });
      const before = await store.now();
      assert.deepEqual(await claimIds(store, 5), ['a1', 'other'], 'one of the rate-limited queue, then the rest in claim order');
      const after = await store.now();
      assert.deepEqual(await claimIds(store, 5), [], 'the next start waits for the rate');
      const at = await store.nextRunAt({ queues: null });
      assert.ok(at !== null && at >= before + 30_000 && at <= after + 60_000, `the next start (${at === null ? null : at - before} ms on) is half an interval to an interval away`);
      assert.equal(await store.nextRunAt({ queues: ['other'] }), null, 'a worker not serving the queue does not wait for it');

      // A changed rate starts afresh: the queue may start at once.
      await store.setQueue({ name: 'api', rate: { count: 2, periodMs: 60_000 } });
      assert.deepEqual(await claimIds(store, 5), ['a2']);
    });

    it('a rate spaces starts evenly and never allows more than its count in any window of its period', async (subject) => {
      const { store } = subject;
      // 4 per 200 ms: one every 50 ms. Short, so that a store on the real clock waits little.
      await store.setQueue({ name: 'paced', rate: { count: 4, periodMs: 200 } });
      await store.enqueue({ jobs: Array.from({ length: 14 }, (_, i) => newJob(`r${i}`, { queue: 'paced' })), ifNotExists: false });
      // An idle spell after the 5th start lets the pace fall behind, so starts come early and the ring must hold them.
      const starts = await startsUnderRate(subject, 14, { idleAfter: 5, idleMs: 120 });
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 25, `start ${i} at least half an interval after the one before: ${starts.join(', ')}`);
      for (let i = 4; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 4]! >= 200, `at most 4 starts in any 200 ms: ${starts.join(', ')}`);
    });

    it('a rate makes up starts that came late while its queue is busy, never two within half an interval', async (subject) => {
      const { store } = subject;
      // 20/s: one every 50 ms. The wake-up before every 9th start comes 150 ms late, as a loaded machine's may: more
      // than half an interval, which a pace that forgot it would lose each time (13 x 125 ms here: 7.55 s in all).
      await store.setQueue({ name: 'paced', rate: { count: 20, periodMs: 1_000 } });
      await store.enqueue({ jobs: Array.from({ length: 120 }, (_, i) => newJob(`r${i}`, { queue: 'paced' })), ifNotExists: false });
      const starts = await startsUnderRate(subject, 120, { lateMs: (started) => (started % 9 === 8 ? 150 : 0) });
      // On pace: the second start half an interval after the first, then one every interval: 25 + 118 x 50 ms. The
      // pace makes lateness up, half an interval a start; the ring keeps a late start's delay for the start a period
      // (20 starts) later, so some remains: 6.175 s, against 7.55 s for a pace that forgets lateness. A store on the
      // real clock wakes later still by however loaded the machine is, so the span is checked on a manual clock
      // (PostgreSQL's catch-up is checked exactly in postgres-queues.test.ts); the spacing rules hold on either.
      const span = starts.at(-1)! - starts[0]!;
      if (subject.manualClock) assert.equal(span, 6_175, `120 starts took ${span} ms: ${starts.join(', ')}`);
      else assert.ok(span >= 5_925, `120 starts took ${span} ms: ${starts.join(', ')}`);
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 25, `start ${i} at least half an interval after the one before: ${starts.join(', ')}`);
      for (let i = 20; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 20]! >= 1_000, `at most 20 starts in any second: ${starts.join(', ')}`);
    });

    it('a rate builds up no starts to make up while its queue is idle', async (subject) => {
      const { store, elapse } = subject;
      await store.setQueue({ name: 'paced', rate: { count: 20, periodMs: 1_000 } });
      await store.enqueue({ jobs: [newJob('before', { queue: 'paced' })], ifNotExists: false });
      assert.equal((await startsUnderRate(subject, 1)).length, 1);
      // A break longer than a second and an interval, then a batch: it starts on pace (25 ms, then 50 ms apart), not
      // half an interval apart as a queue catching up would.
      await elapse(1_200);
      await store.enqueue({ jobs: Array.from({ length: 5 }, (_, i) => newJob(`after${i}`, { queue: 'paced' })), ifNotExists: false });
      const starts = await startsUnderRate(subject, 5);
      assert.ok(starts.at(-1)! - starts[0]! >= 175, `5 starts after a break took ${starts.at(-1)! - starts[0]!} ms, expected 175 or more: ${starts.join(', ')}`);
    });

    it('a paused queue, a queue at its limit and a rate wait are left out of nextRunAt as the design says', async ({ store }) => {
      // Minutes ahead, so that a slow machine (PostgreSQL keeps real time) cannot make any of them due meanwhile.
      const now = await store.now();
      await store.enqueue({
        jobs: [
          newJob('paused-later', { queue: 'held', runAt: now + 60_000 }),
          newJob('capped-now', { queue: 'capped' }),
          newJob('capped-later', { queue: 'capped', runAt: now + 120_000 }),
          newJob('plain-later', { queue: 'plain', runAt: now + 180_000 }),
        ],
        ifNotExists: false,
      });
      await store.setQueue({ name: 'held', paused: true });
      await store.setQueue({ name: 'capped', concurrency: 1 });
      assert.equal(await store.nextRunAt({ queues: null }), now + 120_000, 'the paused queue is left out');
      assert.deepEqual(await claimIds(store, 5), ['capped-now']);
      assert.equal(await store.nextRunAt({ queues: null }), now + 180_000, 'a queue at its limit is left out');
      assert.equal(await store.nextRunAt({ queues: ['held', 'capped'] }), null);
      await store.setQueue({ name: 'held', paused: false });
      assert.equal(await store.nextRunAt({ queues: ['held', 'capped'] }), now + 60_000, 'resumed');
    });

    it('setQueue and the finish of a job of a limited queue wake idle workers', async ({ store }) => {
      await store.setQueue({ name: 'capped', concurrency: 1 });
      await store.enqueue({ jobs: [newJob('c1', { queue: 'capped' }), newJob('c2', { queue: 'capped' })], ifNotExists: false });
      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 2, queues: null });
      let wakes = 0;
      const unsubscribe = await store.subscribe(() => {
        wakes++;
      });
      try {
        assert.equal(await complete(store, claimed!), true);
        await waitFor('the finish to wake the subscriber', () => wakes > 0);
        const seen = wakes;
        await store.setQueue({ name: 'capped', paused: true });
        await waitFor('setQueue to wake the subscriber', () => wakes > seen);
      } finally {
        await unsubscribe();
      }
    });

    it('claims, lists and purges by queue', async ({ store }) => {
      await store.enqueue({
        jobs: [newJob('a1', { queue: 'a', priority: 3 }), newJob('b1', { queue: 'b', priority: 2 }), newJob('c1', { queue: 'c', priority: 1 }), newJob('a2', { queue: 'a' })],
        ifNotExists: false,
      });
      assert.deepEqual(await claimIds(store, 10, ['c', 'a', 'c']), ['a1', 'c1', 'a2'], 'only the queues asked, in claim order across them');
      assert.deepEqual(await claimIds(store, 10, ['a']), []);
      await store.enqueue({ jobs: [newJob('d1', { queue: 'd' }), newJob('d2', { queue: 'd', priority: 4 }), newJob('d3', { queue: 'd' })], ifNotExists: false });
      assert.deepEqual(await claimIds(store, 5, ['d']), ['d2', 'd1', 'd3'], 'one queue, in claim order');
      const ids = async (params: Parameters<Store['listJobs']>[0]) => (await store.listJobs(params)).map((job) => job.id);
      assert.deepEqual(await ids({ limit: 10, queue: 'a' }), ['a2', 'a1']);
      assert.deepEqual(await ids({ limit: 10, queue: 'b', states: ['pending'] }), ['b1']);
      assert.deepEqual(await ids({ limit: 10, queue: 'b', states: ['processing'] }), []);
      assert.deepEqual(await ids({ limit: 10, queue: 'nope' }), []);
      for (const id of ['a1', 'c1', 'a2']) assert.equal(await store.finishAttempt({ jobId: id, workerId: 'w1', attempt: 1, result: ok, next: next('completed') }), true);
      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 0, dryRun: false, queue: 'a' }), 2);
      assert.deepEqual(await ids({ limit: 10, states: ['completed', 'pending'] }), ['c1', 'b1']);
      assert.equal(await store.purge({ states: ['completed'], olderThanMs: 0, dryRun: true, queue: 'b' }), 0);
    });
  });
}
