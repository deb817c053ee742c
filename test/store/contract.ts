import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConflictError, NotFoundError, UsageError } from '../../src/core/errors';
import { JOB_STATES, type Job } from '../../src/core/job';
import type { NewJob } from '../../src/core/job-spec';
import { planAfterAttempt, type AttemptResult, type NextState } from '../../src/core/transitions';
import type { ClaimedJob, Store } from '../../src/store/store';
import type { TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

/**
 * The conformance suite every Store adapter passes. It uses the Store interface only and never a manual clock
 * (PostgreSQL keeps time in the database): "not due yet" is a delay of an hour, "due soon" a few milliseconds awaited
 * with waitFor. Each test gets a fresh store from `makeStore`.
 */
export function runStoreContract(name: string, makeStore: () => Promise<TempStore>, options: { skip?: string | false } = {}): void {
  describe(`Store contract: ${name}`, { skip: options.skip ?? false }, () => {
    let temp: TempStore;
    let store: Store;
    beforeEach(async () => {
      temp = await makeStore();
      store = temp.store;
    });
    afterEach(async () => {
      await temp.cleanup();
    });

    describe('enqueue', () => {
      it('returns new pending jobs with defaults, max_retries from the config', async () => {
        const before = await store.now();
        const [result] = await store.enqueue({ jobs: [newJob('a', { command: 'echo hi' })], ifNotExists: false });
        const after = await store.now();
        assert.ok(result);
        assert.equal(result.created, true);
        const job = result.job;
        assert.deepEqual(
          { id: job.id, command: job.command, state: job.state, attempts: job.attempts, maxRetries: job.maxRetries, priority: job.priority },
          { id: 'a', command: 'echo hi', state: 'pending', attempts: 0, maxRetries: 3, priority: 0 },
        );
        assert.deepEqual(
          [job.timeout, job.cwd, job.env, job.dependsOn, job.finishedAt, job.workerId, job.leaseExpiresAt, job.lastError, job.exitCode, job.cancelSignal],
          [null, null, null, [], null, null, null, null, null, null],
        );
        assert.ok(job.createdAt >= before && job.createdAt <= after, 'createdAt is the store time of the enqueue');
        assert.equal(job.runAt, job.createdAt);
        assert.deepEqual(await store.getJob({ id: 'a' }), job, 'the returned job is what getJob reads back');

        await store.setConfig({ key: 'max-retries', value: '5' });
        const [fromConfig, explicit] = await store.enqueue({ jobs: [newJob('b'), newJob('c', { maxRetries: 0 })], ifNotExists: false });
        assert.equal(fromConfig?.job.maxRetries, 5);
        assert.equal(explicit?.job.maxRetries, 0);
      });

      it('stores every field of a job as given', async () => {
        const runAt = (await store.now()) - 5_000;
        const spec = newJob('full', { command: 'make -j4', maxRetries: 7, priority: -3, runAt, timeout: 2.5, cwd: '/srv/app', env: { A: '1', B_2: 'two words' } });
        const [result] = await store.enqueue({ jobs: [spec], ifNotExists: false });
        const job = await store.getJob({ id: 'full' });
        assert.deepEqual(job, result?.job);
        assert.deepEqual(
          { command: job?.command, maxRetries: job?.maxRetries, priority: job?.priority, runAt: job?.runAt, timeout: job?.timeout, cwd: job?.cwd, env: job?.env },
          { command: 'make -j4', maxRetries: 7, priority: -3, runAt, timeout: 2.5, cwd: '/srv/app', env: { A: '1', B_2: 'two words' } },
        );
      });

      it('rejects a duplicate id with a ConflictError naming it, inserting nothing of the batch', async () => {
        await store.enqueue({ jobs: [newJob('dup')], ifNotExists: false });
        await assert.rejects(
          store.enqueue({ jobs: [newJob('x1'), newJob('x2'), newJob('dup'), newJob('x4')], ifNotExists: false }),
          errorLike(ConflictError, /'dup'/),
        );
        for (const id of ['x1', 'x2', 'x4']) assert.equal(await store.getJob({ id }), null, `${id} was not inserted`);
        assert.equal((await store.countJobs()).counts.pending, 1);
      });

      it('rejects an id repeated inside one batch, with or without dependencies', async () => {
        await assert.rejects(store.enqueue({ jobs: [newJob('y'), newJob('y')], ifNotExists: false }), errorLike(ConflictError, /'y'/));
        await assert.rejects(
          store.enqueue({ jobs: [newJob('base'), newJob('z', { dependsOn: ['base'] }), newJob('z')], ifNotExists: false }),
          errorLike(ConflictError, /'z'/),
        );
        assert.equal((await store.listJobs({ limit: 10 })).length, 0);
      });

      it('with ifNotExists returns the existing job untouched with created: false', async () => {
        await store.enqueue({ jobs: [newJob('a', { command: 'echo one' })], ifNotExists: false });
        const results = await store.enqueue({ jobs: [newJob('a', { command: 'echo two' }), newJob('b')], ifNotExists: true });
        assert.deepEqual(results.map((r) => [r.job.id, r.created, r.job.command]), [['a', false, 'echo one'], ['b', true, 'true']]);
        assert.equal((await store.getJob({ id: 'a' }))?.command, 'echo one');
      });

      it('with ifNotExists, a new job depending on an existing batch job follows that job\'s real state', async () => {
        await store.enqueue({ jobs: [newJob('done'), newJob('gone', { priority: -1 })], ifNotExists: false });
        await runAttempt(store, 'done', ok, next('completed'));
        await runAttempt(store, 'gone', exit(1), next('dead'));
        const results = await store.enqueue({
          jobs: [newJob('done'), newJob('after-done', { dependsOn: ['done'] }), newJob('gone'), newJob('after-gone', { dependsOn: ['gone'] })],
          ifNotExists: true,
        });
        assert.deepEqual(
          results.map((r) => [r.job.id, r.created, r.job.state]),
          [['done', false, 'completed'], ['after-done', true, 'pending'], ['gone', false, 'dead'], ['after-gone', true, 'cancelled']],
        );
      });

      it('returns results in input order even when dependencies reorder the batch', async () => {
        const results = await store.enqueue({
          jobs: [newJob('c', { dependsOn: ['b'] }), newJob('b', { dependsOn: ['a'] }), newJob('a')],
          ifNotExists: false,
        });
        assert.deepEqual(results.map((r) => [r.job.id, r.job.state]), [['c', 'waiting'], ['b', 'waiting'], ['a', 'pending']]);
      });

      it('getJob of an unknown id is null', async () => {
        assert.equal(await store.getJob({ id: 'nope' }), null);
      });

      it('holds back a job with delayMs or runAt until it is due', async () => {
        const now = await store.now();
        await store.enqueue({
          jobs: [newJob('later', { delayMs: 3_600_000 }), newJob('at', { runAt: now + 7_200_000 }), newJob('past', { runAt: now - 60_000, priority: -1 })],
          ifNotExists: false,
        });
        const later = await store.getJob({ id: 'later' });
        assert.ok(later && later.runAt >= now + 3_600_000 && later.state === 'pending');
        assert.equal((await store.getJob({ id: 'at' }))?.runAt, now + 7_200_000);

        assert.equal((await claimNext(store))?.job.id, 'past', 'a runAt in the past is due at once');
        assert.equal(await claimNext(store), null, 'jobs not due yet are not claimable');
        assert.equal(await store.nextRunAt(), later.runAt, 'nextRunAt names the earliest job runnable later');

        const [soon] = await store.enqueue({ jobs: [newJob('soon', { delayMs: 50 })], ifNotExists: false });
        assert.ok(soon && soon.job.runAt >= soon.job.createdAt + 50);
        const claimed = await waitFor('the delayed job to become claimable', () => claimNext(store, 'w1', 60_000));
        assert.equal(claimed.job.id, 'soon');
        assert.ok(claimed.job.leaseExpiresAt! - 60_000 >= soon.job.runAt, 'claimed no earlier than its runAt');
      });
    });

    describe('listJobs and nextRunAt', () => {
      it('lists newest first, filtered by states, up to the limit', async () => {
        await store.enqueue({ jobs: ['j1', 'j2', 'j3', 'j4'].map((id) => newJob(id)), ifNotExists: false });
        await runAttempt(store, 'j1', ok, next('completed'));
        const ids = async (params: Parameters<Store['listJobs']>[0]) => (await store.listJobs(params)).map((job) => job.id);
        assert.deepEqual(await ids({ limit: 10 }), ['j4', 'j3', 'j2', 'j1']);
        assert.deepEqual(await ids({ states: ['completed', 'pending'], limit: 10 }), ['j4', 'j3', 'j2', 'j1']);
        assert.deepEqual(await ids({ states: ['pending', 'completed'], limit: 2 }), ['j4', 'j3']);
        assert.deepEqual(await ids({ states: ['completed'], limit: 10 }), ['j1']);
        assert.deepEqual(await ids({ states: ['dead'], limit: 10 }), []);
      });

      it('nextRunAt is null when nothing is scheduled for later', async () => {
        assert.equal(await store.nextRunAt(), null);
        await store.enqueue({ jobs: [newJob('now')], ifNotExists: false });
        assert.equal(await store.nextRunAt(), null, 'a job due now is not "later"');
      });
    });

    describe('claim', () => {
      it('takes the highest priority, then the earliest runAt, then the oldest', async () => {
        const now = await store.now();
        await store.enqueue({
          jobs: [
            newJob('low', { priority: -1 }),
            newJob('fifo-1', { priority: 1 }),
            newJob('fifo-2', { priority: 1 }),
            newJob('high', { priority: 9 }),
            newJob('late', { priority: 5, runAt: now - 1_000 }),
            newJob('early', { priority: 5, runAt: now - 2_000 }),
            newJob('fifo-3', { priority: 1 }),
          ],
          ifNotExists: false,
        });
        await store.enqueue({ jobs: [newJob('fifo-4', { priority: 1 })], ifNotExists: false });
        const order: string[] = [];
        for (let claimed = await claimNext(store); claimed; claimed = await claimNext(store)) order.push(claimed.job.id);
        assert.deepEqual(order, ['high', 'early', 'late', 'fifo-1', 'fifo-2', 'fifo-3', 'fifo-4', 'low']);
      });

      it('marks the job processing under the worker with a lease, and records the attempt', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const before = await store.now();
        const claimed = await store.claim({ workerId: 'w1', host: 'host-1', leaseMs: 60_000 });
        const after = await store.now();
        assert.ok(claimed);
        assert.equal(claimed.attempt, 1);
        const { job } = claimed;
        assert.deepEqual([job.id, job.state, job.workerId, job.attempts], ['a', 'processing', 'w1', 1]);
        assert.ok(job.leaseExpiresAt !== null && job.leaseExpiresAt >= before + 60_000 && job.leaseExpiresAt <= after + 60_000);
        assert.deepEqual(await store.getJob({ id: 'a' }), job);
        const [attempt, ...more] = await store.listAttempts({ jobId: 'a' });
        assert.equal(more.length, 0);
        assert.ok(attempt);
        assert.deepEqual(
          [attempt.jobId, attempt.attempt, attempt.workerId, attempt.host, attempt.finishedAt, attempt.outcome, attempt.outputBytes, attempt.outputTruncated],
          ['a', 1, 'w1', 'host-1', null, null, 0, false],
        );
        assert.ok(attempt.startedAt >= before && attempt.startedAt <= after);
      });

      it('returns null when nothing is claimable', async () => {
        assert.equal(await claimNext(store), null, 'empty store');
        await store.enqueue({ jobs: [newJob('running'), newJob('blocked', { dependsOn: ['running'] })], ifNotExists: false });
        assert.ok(await claimNext(store));
        assert.equal(await claimNext(store), null, 'a processing job and a waiting one are not claimable');
      });

      it('never hands the same job to two concurrent claims', async () => {
        const ids = Array.from({ length: 20 }, (_, i) => `job-${i}`);
        await store.enqueue({ jobs: ids.map((id) => newJob(id)), ifNotExists: false });
        const claims = await Promise.all(
          Array.from({ length: 30 }, (_, i) => store.claim({ workerId: `w${i}`, host: 'h', leaseMs: 60_000 })),
        );
        const won = claims.filter((c): c is ClaimedJob => c !== null);
        assert.equal(won.length, 20);
        assert.deepEqual(won.map((c) => c.job.id).sort(), [...ids].sort());
        for (const claim of won) assert.equal((await store.getJob({ id: claim.job.id }))?.workerId, claim.job.workerId);
      });
    });

    describe('finishAttempt', () => {
      it('completes a job', async () => {
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

      it('finishAndClaim reports a job and claims the next in one go; a lost lease claims nothing', async () => {
        await store.enqueue({ jobs: [newJob('a'), newJob('b'), newJob('c')], ifNotExists: false });
        const first = await claimNext(store, 'w1');
        const claim = { workerId: 'w1', host: 'test-host', leaseMs: 60_000 };
        const finish = { jobId: 'a', workerId: 'w1', attempt: first!.attempt, result: ok, next: next('completed') };
        const reported = await store.finishAndClaim({ finish, claim });
        assert.equal(reported.finished, true);
        assert.equal(reported.next?.job.id, 'b');
        assert.deepEqual([reported.next?.job.state, reported.next?.job.workerId, reported.next?.attempt], ['processing', 'w1', 1]);
        assert.equal((await store.getJob({ id: 'a' }))?.state, 'completed');
        assert.deepEqual((await store.listAttempts({ jobId: 'b' })).map((a) => [a.attempt, a.workerId, a.outcome]), [[1, 'w1', null]]);

        // Reporting again for 'a' (its lease long gone) applies nothing and must not take 'c'.
        const stale = await store.finishAndClaim({ finish, claim });
        assert.deepEqual(stale, { finished: false, next: null });
        assert.equal((await store.getJob({ id: 'c' }))?.state, 'pending');

        const last = await store.finishAndClaim({ finish: { ...finish, jobId: 'b', attempt: reported.next!.attempt }, claim });
        assert.equal(last.next?.job.id, 'c');
        const drained = await store.finishAndClaim({ finish: { ...finish, jobId: 'c', attempt: last.next!.attempt }, claim });
        assert.deepEqual(drained, { finished: true, next: null });
      });

      it('fails a job with a retry delay: not claimable before it is due', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const before = await store.now();
        await runAttempt(store, 'a', exit(3), next('failed', 3_600_000));
        const job = await store.getJob({ id: 'a' });
        assert.ok(job);
        assert.deepEqual([job.state, job.attempts, job.exitCode, job.lastError, job.workerId, job.finishedAt], ['failed', 1, 3, 'exit code 3', null, null]);
        assert.ok(job.runAt >= before + 3_600_000, 'runAt is now + the retry delay');
        assert.equal(await claimNext(store), null);
        assert.equal(await store.nextRunAt(), job.runAt);
      });

      it('fails a job with a short retry delay: claimable again once due', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        await runAttempt(store, 'a', exit(1), next('failed', 30));
        const failed = await store.getJob({ id: 'a' });
        const again = await waitFor('the failed job to be due again', () => claimNext(store, 'w2'));
        assert.deepEqual([again.job.id, again.attempt, again.job.attempts, again.job.workerId], ['a', 2, 2, 'w2']);
        assert.ok(again.job.leaseExpiresAt! - 60_000 >= failed!.runAt);
        assert.equal((await store.listAttempts({ jobId: 'a' })).length, 2);
      });

      it('ends a job dead after max_retries re-runs, with every attempt in its history', async () => {
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

      it('cancels a job', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        await runAttempt(store, 'a', { outcome: 'cancelled', exitCode: null, signal: 'SIGTERM', error: 'cancelled' }, next('cancelled'));
        const job = await store.getJob({ id: 'a' });
        assert.deepEqual([job?.state, job?.lastError], ['cancelled', 'cancelled']);
        assert.ok(job?.finishedAt !== null);
        assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => [a.outcome, a.signal]), [['cancelled', 'SIGTERM']]);
      });

      it('puts a stopped job back to pending without counting the attempt', async () => {
        await store.enqueue({ jobs: [newJob('a', { maxRetries: 0 })], ifNotExists: false });
        const stopped: AttemptResult = { outcome: 'stopped', exitCode: null, signal: 'SIGKILL', error: 'interrupted by a forced worker stop' };
        await runAttempt(store, 'a', stopped, { state: 'pending', retryDelayMs: 0, countsAttempt: false });
        const job = await store.getJob({ id: 'a' });
        assert.deepEqual([job?.state, job?.attempts, job?.workerId], ['pending', 0, null]);
        const again = await claimNext(store, 'w2');
        assert.deepEqual([again?.job.id, again?.attempt, again?.job.attempts], ['a', 2, 1], 'a new attempt number, one counted attempt');
        assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => [a.attempt, a.outcome]), [[1, 'stopped'], [2, null]]);
      });

      it('writes nothing when the worker or the attempt number does not match', async () => {
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

    describe('dependencies', () => {
      it('keeps a job waiting until all its dependencies complete', async () => {
        const [, , c] = await store.enqueue({ jobs: [newJob('a', { priority: 2 }), newJob('b', { priority: 1 }), newJob('c', { dependsOn: ['a', 'b'] })], ifNotExists: false });
        assert.deepEqual([c?.job.state, c?.job.dependsOn], ['waiting', ['a', 'b']]);
        await runAttempt(store, 'a', ok, next('completed'));
        assert.equal((await store.getJob({ id: 'c' }))?.state, 'waiting');
        await runAttempt(store, 'b', exit(1), next('failed', 0));
        assert.equal((await store.getJob({ id: 'c' }))?.state, 'waiting', 'a failed dependency may still succeed');
        await runAttempt(store, 'b', ok, next('completed'));
        assert.equal((await store.getJob({ id: 'c' }))?.state, 'pending');
        assert.equal((await claimNext(store))?.job.id, 'c');
      });

      it('cancels every job downstream of a dependency that ends dead', async () => {
        await store.enqueue({
          jobs: [
            newJob('a', { priority: 1 }),
            newJob('other'),
            newJob('b', { dependsOn: ['a'] }),
            newJob('c', { dependsOn: ['b'] }),
            newJob('d', { dependsOn: ['other', 'c'] }),
          ],
          ifNotExists: false,
        });
        await runAttempt(store, 'a', exit(1), next('dead'));
        for (const id of ['b', 'c', 'd']) {
          const job = await store.getJob({ id });
          assert.equal(job?.state, 'cancelled', `${id} is cancelled`);
          assert.ok(job?.finishedAt !== null);
          assert.match(job?.lastError ?? '', /dependency/);
        }
        assert.match((await store.getJob({ id: 'b' }))?.lastError ?? '', /'a'/);
        assert.equal((await store.getJob({ id: 'other' }))?.state, 'pending');
      });

      it('rejects an unknown dependency with a UsageError, inserting nothing', async () => {
        await assert.rejects(
          store.enqueue({ jobs: [newJob('ok'), newJob('bad', { dependsOn: ['missing'] })], ifNotExists: false }),
          errorLike(UsageError, /'missing'/),
        );
        assert.equal(await store.getJob({ id: 'ok' }), null);
      });

      it('rejects a cycle within a batch with a UsageError, inserting nothing', async () => {
        await store.enqueue({ jobs: [newJob('root')], ifNotExists: false });
        await assert.rejects(
          store.enqueue({
            jobs: [newJob('x', { dependsOn: ['root', 'z'] }), newJob('y', { dependsOn: ['x'] }), newJob('z', { dependsOn: ['y'] })],
            ifNotExists: false,
          }),
          errorLike(UsageError, /cycle/),
        );
        assert.deepEqual((await store.listJobs({ limit: 10 })).map((job) => job.id), ['root']);
      });

      it('starts a job pending, or cancelled, when its dependencies already ended', async () => {
        await store.enqueue({ jobs: [newJob('done', { priority: 2 }), newJob('gone', { priority: 1 }), newJob('off')], ifNotExists: false });
        await runAttempt(store, 'done', ok, next('completed'));
        await runAttempt(store, 'gone', exit(1), next('dead'));
        await store.cancel({ ids: ['off'], signal: 'SIGTERM' });
        const results = await store.enqueue({
          jobs: [newJob('after-done', { dependsOn: ['done'] }), newJob('after-gone', { dependsOn: ['done', 'gone'] }), newJob('after-off', { dependsOn: ['off'] })],
          ifNotExists: false,
        });
        assert.deepEqual(results.map((r) => [r.job.id, r.job.state]), [['after-done', 'pending'], ['after-gone', 'cancelled'], ['after-off', 'cancelled']]);
        const gone = await store.getJob({ id: 'after-gone' });
        assert.match(gone?.lastError ?? '', /'gone'/);
        assert.ok(gone?.finishedAt !== null);
      });
    });

    describe('output', () => {
      it('appends output and reads it back after a sequence number', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const { attempt } = (await claimNext(store))!;
        await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'one\n' }, { stream: 'stderr', data: 'oops\n' }], limitBytes: 1_000 });
        await store.appendOutput({ jobId: 'a', attempt, chunks: [], limitBytes: 1_000 });
        await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'two\n' }], limitBytes: 1_000 });
        const all = await store.readOutput({ jobId: 'a', attempt });
        assert.deepEqual(all.map((c) => [c.stream, c.data]), [['stdout', 'one\n'], ['stderr', 'oops\n'], ['stdout', 'two\n']]);
        assert.ok(all.every((c, i) => i === 0 || c.seq > all[i - 1]!.seq), 'sequence numbers increase');
        assert.deepEqual((await store.readOutput({ jobId: 'a', attempt, afterSeq: all[0]!.seq })).map((c) => c.data), ['oops\n', 'two\n']);
        assert.deepEqual(await store.readOutput({ jobId: 'a', attempt, afterSeq: all[2]!.seq }), []);
        assert.deepEqual(await store.readOutput({ jobId: 'a', attempt: attempt + 1 }), []);
        const [record] = await store.listAttempts({ jobId: 'a' });
        assert.deepEqual([record?.outputBytes, record?.outputTruncated], [13, false]);
      });

      it('keeps only the newest limitBytes and marks the attempt truncated', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const { attempt } = (await claimNext(store))!;
        await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'aaaa' }, { stream: 'stdout', data: 'bbbb' }], limitBytes: 10 });
        assert.equal((await store.listAttempts({ jobId: 'a' }))[0]?.outputTruncated, false);
        await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stderr', data: 'cccc' }, { stream: 'stdout', data: 'dddd' }], limitBytes: 10 });
        const kept = await store.readOutput({ jobId: 'a', attempt });
        assert.equal(kept.map((c) => c.data).join(''), 'bbccccdddd');
        assert.deepEqual(kept.map((c) => c.stream), ['stdout', 'stderr', 'stdout']);
        const [record] = await store.listAttempts({ jobId: 'a' });
        assert.deepEqual([record?.outputBytes, record?.outputTruncated], [10, true]);
      });

      it('never keeps half a character when trimming multi-byte output', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const { attempt } = (await claimNext(store))!;
        await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'ééé' }], limitBytes: 3 });
        const kept = (await store.readOutput({ jobId: 'a', attempt })).map((c) => c.data).join('');
        assert.equal(kept, 'é');
        const [record] = await store.listAttempts({ jobId: 'a' });
        assert.deepEqual([record?.outputBytes, record?.outputTruncated], [Buffer.byteLength(kept), true]);
      });

      it('marks the attempt truncated when output was lost before it came, with or without chunks', async () => {
        await store.enqueue({ jobs: [newJob('a'), newJob('b')], ifNotExists: false });
        const a = (await claimNext(store))!;
        await store.appendOutput({ jobId: 'a', attempt: a.attempt, chunks: [{ stream: 'stdout', data: 'tail\n' }], limitBytes: 1_000, truncated: true });
        const b = (await claimNext(store))!;
        await store.appendOutput({ jobId: 'b', attempt: b.attempt, chunks: [{ stream: 'stdout', data: 'kept\n' }], limitBytes: 1_000 });
        await store.appendOutput({ jobId: 'b', attempt: b.attempt, chunks: [], limitBytes: 1_000, truncated: true });
        for (const [id, data] of [['a', 'tail\n'], ['b', 'kept\n']] as const) {
          const attempt = id === 'a' ? a.attempt : b.attempt;
          assert.equal((await store.readOutput({ jobId: id, attempt })).map((c) => c.data).join(''), data);
          const [record] = await store.listAttempts({ jobId: id });
          assert.deepEqual([record?.outputBytes, record?.outputTruncated], [5, true], id);
        }
      });
    });

    describe('workers and leases', () => {
      it('registers, heartbeats, lists and removes workers', async () => {
        const before = await store.now();
        await store.registerWorker({ worker: { id: 'w1', host: 'host-1', pid: 4242, pidStart: '12345' } });
        const [record, ...others] = await store.listWorkers({ staleAfterMs: 60_000 });
        assert.equal(others.length, 0);
        assert.ok(record);
        assert.deepEqual(
          [record.id, record.host, record.pid, record.pidStart, record.state, record.currentJob, record.stopRequest, record.heartbeatExpired],
          ['w1', 'host-1', 4242, '12345', 'idle', null, null, false],
        );
        assert.ok(record.startedAt >= before && record.lastHeartbeat >= record.startedAt);

        const reply = await store.heartbeat({ workerId: 'w1', state: 'idle', jobId: null, leaseMs: 60_000 });
        assert.deepEqual([reply.stopRequest, reply.cancelSignal, reply.registered], [null, null, true]);
        const [beat] = await store.listWorkers({ staleAfterMs: 60_000 });
        assert.ok(beat && beat.lastHeartbeat >= record.lastHeartbeat);

        // Busy and its job come from the job the worker holds, from its claim until its finish.
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const claimed = await store.claim({ workerId: 'w1', host: 'host-1', leaseMs: 60_000 });
        const busy = (await store.listWorkers({ staleAfterMs: 60_000 }))[0];
        assert.deepEqual([busy?.state, busy?.currentJob], ['busy', 'a']);
        assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed!.attempt, result: ok, next: next('completed') }), true);
        const idle = (await store.listWorkers({ staleAfterMs: 60_000 }))[0];
        assert.deepEqual([idle?.state, idle?.currentJob], ['idle', null]);

        await store.registerWorker({ worker: { id: 'w2', host: 'host-2', pid: 1, pidStart: null } });
        await store.removeWorker({ workerId: 'w1' });
        assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => [w.id, w.pidStart]), [['w2', null]]);
        // A worker whose row peers removed learns it from its heartbeat, which writes no row.
        assert.equal((await store.heartbeat({ workerId: 'w1', state: 'idle', jobId: null, leaseMs: 60_000 })).registered, false);
        assert.deepEqual((await store.listWorkers({ staleAfterMs: 60_000 })).map((w) => w.id), ['w2']);
      });

      it('flags a worker whose last heartbeat is older than staleAfterMs', async () => {
        await store.registerWorker({ worker: { id: 'w1', host: 'h', pid: 1, pidStart: null } });
        await waitFor('the heartbeat to be older than 20ms', async () => (await store.listWorkers({ staleAfterMs: 20 }))[0]?.heartbeatExpired);
        await store.heartbeat({ workerId: 'w1', state: 'idle', jobId: null, leaseMs: 1_000 });
        assert.equal((await store.listWorkers({ staleAfterMs: 60_000 }))[0]?.heartbeatExpired, false);
      });

      it('asks workers to stop, by host, and says so in their heartbeat', async () => {
        for (const [id, host] of [['w1', 'h1'], ['w2', 'h1'], ['w3', 'h2']] as const) {
          await store.registerWorker({ worker: { id, host, pid: 1, pidStart: null } });
        }
        assert.deepEqual((await store.requestStop({ mode: 'graceful', host: 'h1' })).sort(), ['w1', 'w2']);
        const beat = (id: string) => store.heartbeat({ workerId: id, state: 'idle', jobId: null, leaseMs: 1_000 });
        assert.equal((await beat('w1')).stopRequest, 'graceful');
        assert.equal((await beat('w3')).stopRequest, null);
        const listed = await store.listWorkers({ staleAfterMs: 60_000 });
        assert.deepEqual(listed.map((w) => [w.id, w.stopRequest]).sort(), [['w1', 'graceful'], ['w2', 'graceful'], ['w3', null]]);

        assert.deepEqual((await store.requestStop({ mode: 'kill' })).sort(), ['w1', 'w2', 'w3']);
        await store.requestStop({ mode: 'graceful' });
        assert.equal((await beat('w2')).stopRequest, 'kill', 'a graceful request never softens a kill');
      });

      it('renews the lease on heartbeat while the worker holds the job', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        await claimNext(store, 'w1', 50);
        const before = await store.now();
        const reply = await store.heartbeat({ workerId: 'w1', state: 'busy', jobId: 'a', leaseMs: 60_000 });
        assert.deepEqual(reply, { stopRequest: null, leaseHeld: true, cancelSignal: null, registered: false });
        assert.ok((await store.getJob({ id: 'a' }))!.leaseExpiresAt! >= before + 60_000);
        assert.equal((await store.listLeases())[0]?.leaseExpired, false);
      });

      it('tells a worker its lease is gone once the job was taken from it', async () => {
        await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
        const first = await claimNext(store, 'w1');
        // What a reaper does once w1's lease expires: end the attempt as lost, for w1.
        const lost: AttemptResult = { outcome: 'worker_lost', exitCode: null, signal: null, error: 'worker lost' };
        assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: first!.attempt, result: lost, next: next('failed', 0) }), true);
        const second = await claimNext(store, 'w2');
        assert.equal(second?.job.id, 'a');
        const stale = await store.heartbeat({ workerId: 'w1', state: 'busy', jobId: 'a', leaseMs: 60_000 });
        assert.equal(stale.leaseHeld, false);
        assert.equal((await store.heartbeat({ workerId: 'w2', state: 'busy', jobId: 'a', leaseMs: 60_000 })).leaseHeld, true);
        assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: first!.attempt, result: ok, next: next('completed') }), false);
        const job = await store.getJob({ id: 'a' });
        assert.deepEqual([job?.state, job?.workerId], ['processing', 'w2']);
        assert.deepEqual((await store.listAttempts({ jobId: 'a' })).map((a) => a.outcome), ['worker_lost', null]);
      });

      it('passes a cancel of a processing job to its worker through the heartbeat', async () => {
        await store.enqueue({ jobs: [newJob('a'), newJob('b', { dependsOn: ['a'] })], ifNotExists: false });
        const claimed = await claimNext(store, 'w1');
        assert.deepEqual(await store.cancel({ ids: ['a'], signal: 'SIGINT' }), [{ id: 'a', action: 'signalled', state: 'processing' }]);
        const job = await store.getJob({ id: 'a' });
        assert.deepEqual([job?.state, job?.cancelSignal], ['processing', 'SIGINT']);
        assert.deepEqual(await store.heartbeat({ workerId: 'w1', state: 'busy', jobId: 'a', leaseMs: 60_000 }), { stopRequest: null, leaseHeld: true, cancelSignal: 'SIGINT', registered: false });
        const result: AttemptResult = { outcome: 'cancelled', exitCode: null, signal: 'SIGINT', error: 'cancelled' };
        assert.equal(await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: claimed!.attempt, result, next: next('cancelled') }), true);
        assert.deepEqual([(await store.getJob({ id: 'a' }))?.state, (await store.getJob({ id: 'b' }))?.state], ['cancelled', 'cancelled']);
      });

      it('lists leases with what a reaper needs, expired after a short lease', async () => {
        await store.registerWorker({ worker: { id: 'w1', host: 'host-1', pid: 99, pidStart: 'start-99' } });
        await store.enqueue({ jobs: [newJob('a', { maxRetries: 4 }), newJob('idle')], ifNotExists: false });
        const claimed = await store.claim({ workerId: 'w1', host: 'host-1', leaseMs: 50 });
        assert.equal(claimed?.job.id, 'a');
        await store.recordAttemptProcess({ jobId: 'a', attempt: claimed.attempt, workerId: 'w1', pid: 4321, pidStart: 'start-4321' });
        const [lease] = await waitFor('the 50ms lease to expire', async () => {
          const leases = await store.listLeases();
          return leases[0]?.leaseExpired ? leases : null;
        });
        assert.deepEqual(lease, {
          jobId: 'a', attempt: 1, workerId: 'w1', attempts: 1, maxRetries: 4, leaseExpired: true, host: 'host-1', pid: 4321,
          pidStart: 'start-4321', worker: { host: 'host-1', pid: 99, pidStart: 'start-99' },
        });
        const [attempt] = await store.listAttempts({ jobId: 'a' });
        assert.deepEqual([attempt?.pid, attempt?.pidStart], [4321, 'start-4321']);

        await store.removeWorker({ workerId: 'w1' });
        assert.deepEqual((await store.listLeases()).map((l) => [l.jobId, l.worker]), [['a', null]]);
        await store.finishAttempt({ jobId: 'a', workerId: 'w1', attempt: 1, result: ok, next: next('completed') });
        assert.deepEqual(await store.listLeases(), []);
      });
    });

    describe('operator actions', () => {
      it('retries a dead job: pending again, attempts reset, history kept', async () => {
        await store.enqueue({ jobs: [newJob('d', { maxRetries: 0 })], ifNotExists: false });
        await runAttempt(store, 'd', exit(2), next('dead'));
        assert.deepEqual(await store.retryJobs({ ids: ['d'] }), ['d']);
        const job = await store.getJob({ id: 'd' });
        assert.deepEqual([job?.state, job?.attempts, job?.finishedAt, job?.lastError], ['pending', 0, null, null]);
        assert.equal((await store.listAttempts({ jobId: 'd' })).length, 1);
        const again = await claimNext(store);
        assert.deepEqual([again?.job.id, again?.attempt, again?.job.attempts], ['d', 2, 1]);
      });

      it('refuses to retry a job that is not dead, and unknown ids, changing nothing', async () => {
        await store.enqueue({ jobs: [newJob('c', { priority: 1 }), newJob('d')], ifNotExists: false });
        await runAttempt(store, 'c', ok, next('completed'));
        await runAttempt(store, 'd', exit(1), next('dead'));
        await assert.rejects(store.retryJobs({ ids: ['c'] }), errorLike(ConflictError, /'c'/));
        await assert.rejects(store.retryJobs({ ids: ['d', 'nope'] }), errorLike(NotFoundError, /'nope'/));
        assert.equal((await store.getJob({ id: 'd' }))?.state, 'dead');
        assert.equal((await store.getJob({ id: 'c' }))?.state, 'completed');
      });

      it('retries every dead job with allDead', async () => {
        await store.enqueue({ jobs: [newJob('d1', { priority: 3 }), newJob('d2', { priority: 2 }), newJob('c', { priority: 1 })], ifNotExists: false });
        await runAttempt(store, 'd1', exit(1), next('dead'));
        await runAttempt(store, 'd2', exit(1), next('dead'));
        await runAttempt(store, 'c', ok, next('completed'));
        assert.deepEqual((await store.retryJobs({ allDead: true })).sort(), ['d1', 'd2']);
        assert.deepEqual((await store.countJobs()).counts, { ...zeroCounts(), pending: 2, completed: 1 });
        assert.deepEqual(await store.retryJobs({ allDead: true }), []);
      });

      it('clears dead jobs with their history', async () => {
        await store.enqueue({ jobs: [newJob('d1', { priority: 3 }), newJob('d2', { priority: 2 }), newJob('c', { priority: 1 })], ifNotExists: false });
        for (const id of ['d1', 'd2']) {
          const { attempt } = await runAttempt(store, id, exit(1), next('dead'));
          if (id === 'd1') await store.appendOutput({ jobId: id, attempt, chunks: [{ stream: 'stderr', data: 'late' }], limitBytes: 100 });
        }
        await runAttempt(store, 'c', ok, next('completed'));
        assert.equal(await store.clearDead(), 2);
        assert.equal(await store.getJob({ id: 'd1' }), null);
        assert.deepEqual(await store.listAttempts({ jobId: 'd1' }), []);
        assert.deepEqual(await store.readOutput({ jobId: 'd1', attempt: 1 }), []);
        assert.equal((await store.getJob({ id: 'c' }))?.state, 'completed');
        assert.equal(await store.clearDead(), 0);
      });

      it('cancels waiting, pending and failed jobs at once, and leaves finished ones alone', async () => {
        await store.enqueue({
          jobs: [newJob('f', { priority: 2 }), newJob('done', { priority: 1 }), newJob('p'), newJob('w', { dependsOn: ['p'] }), newJob('w2', { dependsOn: ['w'] })],
          ifNotExists: false,
        });
        await runAttempt(store, 'f', exit(1), next('failed', 3_600_000));
        await runAttempt(store, 'done', ok, next('completed'));
        const results = await store.cancel({ ids: ['f', 'w', 'done'], signal: 'SIGTERM' });
        assert.deepEqual(results, [
          { id: 'f', action: 'cancelled', state: 'cancelled' },
          { id: 'w', action: 'cancelled', state: 'cancelled' },
          { id: 'done', action: 'unchanged', state: 'completed' },
        ]);
        assert.equal((await store.getJob({ id: 'w2' }))?.state, 'cancelled', 'dependents of a cancelled job are cancelled');
        assert.deepEqual(await store.cancel({ ids: ['p'], signal: 'SIGTERM' }), [{ id: 'p', action: 'cancelled', state: 'cancelled' }]);
        const p = await store.getJob({ id: 'p' });
        assert.ok(p?.finishedAt !== null);
        assert.equal(await claimNext(store), null);
        assert.deepEqual((await store.countJobs()).counts, { ...zeroCounts(), cancelled: 4, completed: 1 });
      });

      it('records jobs ended without a worker for their finish hook, each taken once', async () => {
        await store.enqueue({
          jobs: [newJob('q'), newJob('after-q', { dependsOn: ['q'] }), newJob('root', { priority: 1, maxRetries: 0 }), newJob('after-root', { dependsOn: ['root'] })],
          ifNotExists: false,
        });
        assert.deepEqual(await store.takeFinishHooks({ limit: 10 }), [], 'nothing ended yet');
        await store.cancel({ ids: ['q'], signal: 'SIGTERM' });
        // A job a worker reports is not recorded (its worker runs the hook), but its cancelled dependents are.
        await runAttempt(store, 'root', exit(1), next('dead'));
        const taken = await store.takeFinishHooks({ limit: 10 });
        assert.deepEqual(
          taken.sort((a, b) => a.jobId.localeCompare(b.jobId)),
          ['after-q', 'after-root', 'q'].map((jobId) => ({ jobId, state: 'cancelled', exitCode: null })),
        );
        assert.deepEqual(await store.takeFinishHooks({ limit: 10 }), [], 'each is taken once');
        await store.cancel({ ids: ['q'], signal: 'SIGTERM' });
        assert.deepEqual(await store.takeFinishHooks({ limit: 10 }), [], 'cancelling a cancelled job ends nothing');
      });

      it('cancels nothing when an id is unknown', async () => {
        await store.enqueue({ jobs: [newJob('p')], ifNotExists: false });
        await assert.rejects(store.cancel({ ids: ['p', 'nope'], signal: 'SIGTERM' }), errorLike(NotFoundError, /'nope'/));
        assert.equal((await store.getJob({ id: 'p' }))?.state, 'pending');
      });

      it('purges finished jobs by state and age, counting only on a dry run', async () => {
        await store.enqueue({ jobs: [newJob('c1', { priority: 3 }), newJob('c2', { priority: 2 }), newJob('d', { priority: 1 }), newJob('p', { delayMs: 3_600_000 })], ifNotExists: false });
        await runAttempt(store, 'c1', ok, next('completed'));
        await runAttempt(store, 'c2', ok, next('completed'));
        await runAttempt(store, 'd', exit(1), next('dead'));

        assert.equal(await store.purge({ states: ['completed'], olderThanMs: 3_600_000, dryRun: false }), 0, 'not old enough');
        assert.equal(await store.purge({ states: ['completed', 'dead'], olderThanMs: 0, dryRun: true }), 3);
        assert.equal((await store.countJobs()).counts.completed, 2, 'a dry run deletes nothing');
        assert.equal(await store.purge({ states: ['pending'], olderThanMs: 0, dryRun: false }), 0, 'unfinished jobs are never purged');

        assert.equal(await store.purge({ states: ['completed'], olderThanMs: 0, dryRun: false, limit: 1 }), 1);
        assert.equal(await store.purge({ states: ['completed'], olderThanMs: 0, dryRun: false }), 1);
        for (const id of ['c1', 'c2']) {
          assert.equal(await store.getJob({ id }), null);
          assert.deepEqual(await store.listAttempts({ jobId: id }), []);
        }
        assert.deepEqual([(await store.getJob({ id: 'd' }))?.state, (await store.getJob({ id: 'p' }))?.state], ['dead', 'pending']);
      });
    });

    describe('counts, config and wake-ups', () => {
      it('counts jobs in every state', async () => {
        const empty = await store.countJobs();
        assert.deepEqual(Object.keys(empty.counts).sort(), [...JOB_STATES].sort());
        assert.deepEqual(empty.counts, zeroCounts());
        assert.equal(empty.oldestPendingAt, null);

        await store.enqueue({ jobs: [newJob('run', { priority: 1 }), newJob('p1'), newJob('w', { dependsOn: ['p1'] })], ifNotExists: false });
        const [, p2] = await store.enqueue({ jobs: [newJob('x'), newJob('p2')], ifNotExists: false });
        await runAttempt(store, 'run', ok, next('completed'));
        await store.enqueue({ jobs: [newJob('run2', { priority: 1 })], ifNotExists: false });
        await claimNext(store);
        await store.cancel({ ids: ['x'], signal: 'SIGTERM' });
        const summary = await store.countJobs();
        assert.deepEqual(summary.counts, { waiting: 1, pending: 2, processing: 1, completed: 1, failed: 0, dead: 0, cancelled: 1 });
        const p1 = await store.getJob({ id: 'p1' });
        assert.equal(summary.oldestPendingAt, Math.min(p1!.createdAt, p2!.job.createdAt));
        assert.ok(summary.now >= p2!.job.createdAt);
      });

      it('lists with an offset and a command search', async () => {
        for (const id of ['a1', 'a2', 'a3']) await store.enqueue({ jobs: [newJob(id, { command: `backup ${id}` })], ifNotExists: false });
        await store.enqueue({ jobs: [newJob('other', { command: 'echo 100%_x' })], ifNotExists: false });
        const ids = (jobs: Job[]) => jobs.map((job) => job.id);
        assert.deepEqual(ids(await store.listJobs({ limit: 2, offset: 1 })), ['a3', 'a2']);
        assert.deepEqual(ids(await store.listJobs({ limit: 10, commandContains: 'backup' })), ['a3', 'a2', 'a1']);
        assert.deepEqual(ids(await store.listJobs({ limit: 10, commandContains: '%_' })), ['other'], 'the text is literal');
        assert.deepEqual(ids(await store.listJobs({ states: ['pending'], limit: 1, offset: 1, commandContains: 'backup' })), ['a2']);
      });

      it('counts only due jobs as the oldest pending, and gives the next scheduled run apart', async () => {
        const [later] = await store.enqueue({ jobs: [newJob('later', { delayMs: 3_600_000 })], ifNotExists: false });
        const notDue = await store.countJobs();
        assert.equal(notDue.oldestPendingAt, null, 'a job not yet due is not waiting');
        assert.equal(notDue.nextRunAt, later!.job.runAt);
        const [due] = await store.enqueue({ jobs: [newJob('due')], ifNotExists: false });
        assert.equal((await store.countJobs()).oldestPendingAt, due!.job.runAt);
      });

      it('sets, reads and unsets config values', async () => {
        assert.deepEqual(await store.getConfig(), {});
        await store.setConfig({ key: 'max-retries', value: '7' });
        await store.setConfig({ key: 'retention', value: '7d' });
        await store.setConfig({ key: 'max-retries', value: '8' });
        assert.deepEqual(await store.getConfig(), { 'max-retries': '8', retention: '7d' });
        assert.equal(await store.unsetConfig({ key: 'max-retries' }), true);
        assert.equal(await store.unsetConfig({ key: 'max-retries' }), false);
        assert.deepEqual(await store.getConfig(), { retention: '7d' });
      });

      it('wakes subscribers on notify', async () => {
        let wakes = 0;
        const unsubscribe = await store.subscribe(() => {
          wakes++;
        });
        try {
          await store.notify();
          await waitFor('the subscriber to be woken', () => wakes > 0);
        } finally {
          await unsubscribe();
        }
      });
    });
  });
}

// --- Helpers ----------------------------------------------------------------------------------------------------------

const ok: AttemptResult = { outcome: 'exit', exitCode: 0, signal: null, error: null };

function exit(code: number): AttemptResult {
  return { outcome: 'exit', exitCode: code, signal: null, error: `exit code ${code}` };
}

function next(state: NextState['state'], retryDelayMs = 0): NextState {
  return { state, retryDelayMs, countsAttempt: true };
}

function newJob(id: string, fields: Partial<NewJob> = {}): NewJob {
  return { id, command: 'true', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn: [], ...fields };
}

function zeroCounts(): Record<Job['state'], number> {
  return { waiting: 0, pending: 0, processing: 0, completed: 0, failed: 0, dead: 0, cancelled: 0 };
}

function claimNext(store: Store, workerId = 'w1', leaseMs = 60_000): Promise<ClaimedJob | null> {
  return store.claim({ workerId, host: 'test-host', leaseMs });
}

/** Claims the next job, which must be `id`, and ends its attempt as given. */
async function runAttempt(store: Store, id: string, result: AttemptResult, nextState: NextState): Promise<ClaimedJob> {
  const claimed = await claimNext(store, 'w1');
  assert.equal(claimed?.job.id, id, `expected to claim ${id}`);
  const applied = await store.finishAttempt({ jobId: id, workerId: 'w1', attempt: claimed.attempt, result, next: nextState });
  assert.equal(applied, true, `finishing ${id}`);
  return claimed;
}

/** An assert.rejects validator: an instance of `type` whose message matches `message`. */
function errorLike(type: new (...args: never[]) => Error, message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}
