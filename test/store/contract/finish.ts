import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { planAfterAttempt, type AttemptResult } from '../../../src/core/transitions';
import { ok, exit, next, newJob, claimNext, runAttempt } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Reporting an attempt: completed, failed with a retry delay, dead, cancelled, stopped; a mismatched report writes nothing. */
export function finishContract(it: ContractIt): void {
  describe('finishAttempt', () => {
    it('completes a job', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const claimed = await claimNext(store, 'w1');
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed!.attempt, result: ok, next: next('completed') }), true);
      const job = await store.getJob({ id: 'a' });
      assert.ok(job && job.finishedAt !== null);
      assert.deepEqual([job.state, job.attempts, job.exitCode, job.workerId, job.leaseExpiresAt], ['completed', 1, 0, null, null]);
      const attempts = await store.listAttempts({ jobId: 'a' });
      assert.deepEqual(attempts.map((a) => [a.attempt, a.outcome, a.exitCode, a.error]), [[1, 'exit', 0, null]]);
      assert.ok(attempts[0]!.finishedAt !== null);
      assert.equal(await claimNext(store), null);
    });

    it('finishAndClaim reports a job and claims the next in one go; a lost lease claims nothing', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a'), newJob('b'), newJob('c')], ifNotExists: false });
      const first = await claimNext(store, 'w1');
      const claim = { workerId: 'w1', host: 'test-host', leaseMs: 60_000, limit: 1, queues: null };
      const finish = { jobId: 'a', workerId: 'w1', attempt: first!.attempt, result: ok, next: next('completed') };
      const reported = await store.finishAndClaim({ finishes: [finish], claim });
      assert.deepEqual(reported.finished, [true]);
      const [b, ...more] = reported.next;
      assert.equal(more.length, 0);
      assert.equal(b?.job.id, 'b');
      assert.deepEqual([b.job.state, b.job.workerId, b.attempt], ['processing', 'w1', 1]);
      assert.equal((await store.getJob({ id: 'a' }))?.state, 'completed');
      assert.deepEqual((await store.listAttempts({ jobId: 'b' })).map((a) => [a.attempt, a.workerId, a.outcome]), [[1, 'w1', null]]);

      // Reporting again for 'a' (its lease long gone) applies nothing and must not take 'c'.
      const stale = await store.finishAndClaim({ finishes: [finish], claim });
      assert.deepEqual(stale, { finished: [false], next: [] });
      assert.equal((await store.getJob({ id: 'c' }))?.state, 'pending');

      const last = await store.finishAndClaim({ finishes: [{ ...finish, jobId: 'b', attempt: b.attempt }], claim });
      assert.deepEqual(last.next.map((c) => c.job.id), ['c']);
      const drained = await store.finishAndClaim({ finishes: [{ ...finish, jobId: 'c', attempt: last.next[0]!.attempt }], claim });
      assert.deepEqual(drained, { finished: [true], next: [] });
    });

    it('finishAndClaim reports several attempts in one write, each guarded on its own, then claims for all the slots', async ({ store }) => {
      await store.enqueue({
        jobs: [newJob('a', { priority: 9 }), newJob('b', { priority: 8, maxRetries: 0 }), newJob('c', { priority: 7 }), newJob('d'), newJob('e'), newJob('f'), newJob('after-a', { dependsOn: ['a'] })],
        ifNotExists: false,
      });
      const claim = { workerId: 'w1', host: 'test-host', leaseMs: 60_000, limit: 3, queues: null };
      const held = await store.claim(claim);
      assert.deepEqual(held.map((c) => c.job.id), ['a', 'b', 'c']);
      const [a, b, c] = held as [typeof held[0], typeof held[0], typeof held[0]];
      const finishes = [
        { jobId: 'c', workerId: 'w1', attempt: c.attempt, result: ok, next: next('completed') },
        { jobId: 'b', workerId: 'w1', attempt: b.attempt + 1, result: ok, next: next('completed') }, // not its run: a stale report
        { jobId: 'a', workerId: 'w1', attempt: a.attempt, result: exit(1), next: next('failed', 60_000) },
      ];
      const reported = await store.finishAndClaim({ finishes, claim: { ...claim, limit: 3 } });
      assert.deepEqual(reported.finished, [true, false, true], 'in the order given');
      assert.deepEqual(reported.next.map((j) => j.job.id), ['d', 'e', 'f'], 'b still holds its slot, but the claim takes what it is asked');
      assert.deepEqual(
        (await store.getJobs({ ids: ['a', 'b', 'c', 'after-a'] })).map((j) => [j.id, j.state]).sort(),
        [['a', 'failed'], ['after-a', 'waiting'], ['b', 'processing'], ['c', 'completed']],
      );
      // b's own report then applies; nothing is left to claim.
      const last = await store.finishAndClaim({ finishes: [{ ...finishes[1]!, attempt: b.attempt, result: exit(2), next: next('dead') }], claim });
      assert.deepEqual(last, { finished: [true], next: [] });
      assert.equal((await store.getJob({ id: 'b' }))?.state, 'dead');
    });

    it('finishAndClaim settles dependents and attempts of every report in its batch', async ({ store }) => {
      await store.enqueue({
        jobs: [newJob('a'), newJob('b'), newJob('c'), newJob('both', { dependsOn: ['a', 'b'] }), newJob('after-c', { dependsOn: ['c'] }), newJob('next')],
        ifNotExists: false,
      });
      const claim = { workerId: 'w1', host: 'test-host', leaseMs: 60_000, limit: 3, queues: null };
      const held = new Map((await store.claim(claim)).map((c) => [c.job.id, c.attempt]));
      assert.deepEqual([...held.keys()].sort(), ['a', 'b', 'c']);
      const finishes = [
        { jobId: 'b', workerId: 'w1', attempt: held.get('b')!, result: ok, next: next('completed') },
        { jobId: 'c', workerId: 'w1', attempt: held.get('c')!, result: exit(4), next: next('dead') },
        { jobId: 'a', workerId: 'w1', attempt: held.get('a')!, result: ok, next: next('completed') },
      ];
      const reported = await store.finishAndClaim({ finishes, claim });
      assert.deepEqual(reported.finished, [true, true, true]);
      // Both of its dependencies completed in this one write: it runs, and is claimed along with the other due job.
      assert.deepEqual(reported.next.map((c) => c.job.id).sort(), ['both', 'next']);
      assert.equal((await store.getJob({ id: 'after-c' }))?.state, 'cancelled', 'a dead dependency cancels what waits on it');
      const attempts = await store.listAttempts({ jobId: 'c' });
      assert.deepEqual(attempts.map((a) => [a.attempt, a.outcome, a.exitCode, a.finishedAt !== null]), [[1, 'exit', 4, true]]);
      assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => [a.outcome, a.exitCode]), [['exit', 0]]);
    });

    it('finishAndClaim claims nothing when no report of the batch applied', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a'), newJob('b')], ifNotExists: false });
      const claim = { workerId: 'w1', host: 'test-host', leaseMs: 60_000, limit: 1, queues: null };
      const [a] = await store.claim(claim);
      const stale = { jobId: 'a', workerId: 'w2', attempt: a!.attempt, result: ok, next: next('completed') };
      const reported = await store.finishAndClaim({ finishes: [stale], claim: { ...claim, workerId: 'w2' } });
      assert.deepEqual(reported, { finished: [false], next: [] });
      assert.deepEqual((await store.getJobs({ ids: ['a', 'b'] })).map((j) => [j.id, j.state]).sort(), [['a', 'processing'], ['b', 'pending']]);
    });

    it('fails a job with a retry delay: not claimable before it is due', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const before = await store.now();
      await runAttempt(store, 'a', exit(3), next('failed', 3_600_000));
      const job = await store.getJob({ id: 'a' });
      assert.ok(job);
      assert.deepEqual([job.state, job.attempts, job.exitCode, job.lastError, job.workerId, job.finishedAt], ['failed', 1, 3, 'exit code 3', null, null]);
      assert.ok(job.runAt >= before + 3_600_000, 'runAt is now + the retry delay');
      assert.equal(await claimNext(store), null);
      assert.equal(await store.nextRunAt({ queues: null }), job.runAt);
    });

    it('fails a job with a short retry delay: claimable again once due', async ({ store, elapse }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      await runAttempt(store, 'a', exit(1), next('failed', 30));
      const failed = await store.getJob({ id: 'a' });
      await elapse(30);
      const again = await claimNext(store, 'w2');
      assert.ok(again, 'due again once the retry delay has passed');
      assert.deepEqual([again.job.id, again.attempt, again.job.attempts, again.job.workerId], ['a', 2, 2, 'w2']);
      assert.ok(again.job.leaseExpiresAt! - 60_000 >= failed!.runAt);
      assert.equal((await store.listAttempts({ jobId: 'a' })).length, 2);
    });

    it('ends a job dead after max_retries re-runs, with every attempt in its history', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a', { maxRetries: 2 })], ifNotExists: false });
      const states: string[] = [];
      for (let claimed = await claimNext(store); claimed; claimed = await claimNext(store)) {
        const result = exit(10 + claimed.attempt);
        const plan = planAfterAttempt(claimed.job, result, { base: 1, maxSeconds: 0, jitter: 0 });
        assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed.attempt, result, next: plan }), true);
        states.push((await store.getJob({ id: 'a' }))!.state);
      }
      assert.deepEqual(states, ['failed', 'failed', 'dead']);
      const job = await store.getJob({ id: 'a' });
      assert.deepEqual([job?.attempts, job?.exitCode, job?.lastError], [3, 13, 'exit code 13']);
      assert.ok(job?.finishedAt !== null);
      const attempts = await store.listAttempts({ jobId: 'a' });
      assert.deepEqual(attempts.map((a) => [a.attempt, a.outcome, a.exitCode, a.error]), [
        [1, 'exit', 11, 'exit code 11'],
        [2, 'exit', 12, 'exit code 12'],
        [3, 'exit', 13, 'exit code 13'],
      ]);
    });

    it('cancels a job', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      await runAttempt(store, 'a', { outcome: 'cancelled', exitCode: null, signal: 'SIGTERM', error: 'cancelled' }, next('cancelled'));
      const job = await store.getJob({ id: 'a' });
      assert.deepEqual([job?.state, job?.lastError], ['cancelled', 'cancelled']);
      assert.ok(job?.finishedAt !== null);
      assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => [a.outcome, a.signal]), [['cancelled', 'SIGTERM']]);
    });

    it('puts a stopped job back to pending without counting the attempt', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a', { maxRetries: 0 })], ifNotExists: false });
      const stopped: AttemptResult = { outcome: 'stopped', exitCode: null, signal: 'SIGKILL', error: 'interrupted by a forced worker stop' };
      await runAttempt(store, 'a', stopped, { state: 'pending', retryDelayMs: 0, countsAttempt: false });
      const job = await store.getJob({ id: 'a' });
      assert.deepEqual([job?.state, job?.attempts, job?.workerId], ['pending', 0, null]);
      const again = await claimNext(store, 'w2');
      assert.deepEqual([again?.job.id, again?.attempt, again?.job.attempts], ['a', 2, 1], 'a new attempt number, one counted attempt');
      assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => [a.attempt, a.outcome]), [[1, 'stopped'], [2, null]]);
    });

    it('writes nothing when the worker or the attempt number does not match', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const claimed = await claimNext(store, 'w1');
      assert.ok(claimed);
      const before = await store.getJob({ id: 'a' });
      const attempt = claimed.attempt;
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w2', attempt, result: ok, next: next('completed') }), false);
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: attempt + 1, result: ok, next: next('completed') }), false);
      assert.equal(await store.finishAttempt({ jobId: 'other', workerId: 'w1', attempt, result: ok, next: next('completed') }), false);
      assert.deepEqual(await store.getJob({ id: 'a' }), before);
      assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => [a.outcome, a.finishedAt]), [[null, null]]);

      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt, result: exit(1), next: next('failed', 3_600_000) }), true);
      const failed = await store.getJob({ id: 'a' });
      assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt, result: ok, next: next('completed') }), false, 'a second report');
      assert.deepEqual(await store.getJob({ id: 'a' }), failed);
    });
  });
}
