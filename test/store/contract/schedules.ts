import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { ConflictError, NotFoundError } from '../../../src/core/errors';
import { jobForTick, scheduleJobId, type NewSchedule } from '../../../src/core/schedule';
import type { FireScheduleParams, Store } from '../../../src/store/store';
import { ScheduleService } from '../../../src/worker/services/schedules';
import { ok } from './job-builders';
import type { ContractIt } from './store-under-test';

const HOUR = 3_600_000;

/**
 * Schedules: stored, listed when due, fired once per tick however many firers race, no-overlap, catch-up, pause and
 * run-now. A schedule is made due by storing a next run in the past, and "not due" is a next run an hour away.
 */
export function schedulesContract(it: ContractIt): void {
  describe('schedules', () => {
    it('adds, reads, lists by name and removes schedules; a taken name is a ConflictError unless replace', async ({ store }) => {
      const nextRunAt = (await store.now()) + HOUR;
      const added = await store.addSchedule({ schedule: newSchedule('nightly', { timeZone: 'Europe/Paris', noOverlap: true, catchUp: 'none' }), nextRunAt, replace: false });
      assert.deepEqual(
        { ...added, createdAt: 0, updatedAt: 0 },
        {
          name: 'nightly', cadence: { kind: 'cron', expression: '0 3 * * *' }, timeZone: 'Europe/Paris', noOverlap: true, catchUp: 'none',
          job: { command: 'true', env: { A: '1' } }, paused: false, nextRunAt, lastTickAt: null, lastJobId: null, lastJobState: null, createdAt: 0, updatedAt: 0,
        },
      );
      assert.deepEqual(await store.getSchedule({ name: 'nightly' }), added);
      await store.addSchedule({ schedule: newSchedule('a-every', { cadence: { kind: 'every', everyMs: 10_000 } }), nextRunAt, replace: false });
      assert.deepEqual((await store.listSchedules()).map((s) => s.name), ['a-every', 'nightly']);
      assert.deepEqual((await store.getSchedule({ name: 'a-every' }))?.cadence, { kind: 'every', everyMs: 10_000 });

      await assert.rejects(store.addSchedule({ schedule: newSchedule('nightly', { catchUp: 'last' }), nextRunAt, replace: false }), (err: Error) => err instanceof ConflictError && /'nightly' exists/.test(err.message));
      assert.equal((await store.getSchedule({ name: 'nightly' }))?.catchUp, 'none', 'unchanged');
      const replaced = await store.addSchedule({ schedule: newSchedule('nightly', { catchUp: 'last' }), nextRunAt: nextRunAt + 1000, replace: true });
      assert.deepEqual([replaced.catchUp, replaced.nextRunAt, replaced.timeZone], ['last', nextRunAt + 1000, 'UTC']);

      assert.equal(await store.removeSchedule({ name: 'nightly' }), true);
      assert.equal(await store.removeSchedule({ name: 'nightly' }), false);
      assert.equal(await store.getSchedule({ name: 'nightly' }), null);
    });

    it('lists due schedules by the store clock, and the earliest next run of active ones', async ({ store }) => {
      assert.equal(await store.nextScheduleAt(), null);
      const due = await addDue(store, 'due');
      await addDue(store, 'later', {}, -HOUR);
      const { now, schedules } = await store.dueSchedules({ limit: 10 });
      assert.deepEqual(schedules.map((s) => s.name), ['due']);
      assert.ok(Math.abs(now - (await store.now())) < 5000);
      assert.equal(await store.nextScheduleAt(), due);
    });

    it('firing the same tick from several firers at once makes one job; the others see stale', async ({ store }) => {
      const due = await addDue(store, 'race');
      const results = await Promise.all(Array.from({ length: 8 }, () => fire(store, 'race', due)));
      assert.deepEqual(results.map((r) => r.outcome).sort(), ['fired', ...Array(7).fill('stale')]);
      const jobId = scheduleJobId('race', due);
      assert.equal((await store.getJob({ id: jobId }))?.state, 'pending');
      assert.equal((await store.countJobs()).counts.pending, 1);
      const after = await store.getSchedule({ name: 'race' });
      assert.deepEqual([after?.nextRunAt, after?.lastTickAt, after?.lastJobId, after?.lastJobState], [due + HOUR, due, jobId, 'pending']);
      // A late firer that saw the old next run changes nothing.
      assert.equal((await fire(store, 'race', due)).outcome, 'stale');
      assert.equal((await store.countJobs()).counts.pending, 1);
    });

    it('a tick whose job id already exists inserts nothing (exists) and still moves on', async ({ store }) => {
      const due = await addDue(store, 'again');
      await store.enqueue({ jobs: [jobForTick({ name: 'again', job: { command: 'true' } }, due)], ifNotExists: false });
      assert.deepEqual(await fire(store, 'again', due), { outcome: 'exists', jobId: scheduleJobId('again', due) });
      assert.equal((await store.getSchedule({ name: 'again' }))?.nextRunAt, due + HOUR);
      assert.equal((await store.countJobs()).counts.pending, 1);
    });

    it('no-overlap: a tick is skipped while the previous job is unfinished, and fires once it has ended', async ({ store }) => {
      const first = await addDue(store, 'solo', { noOverlap: true }, 5000);
      assert.equal((await fire(store, 'solo', first, { nextRunAt: first + 1000 })).outcome, 'fired');
      assert.deepEqual(await fire(store, 'solo', first + 1000, { nextRunAt: first + 2000 }), { outcome: 'overlap', jobId: null });
      assert.equal(await store.getJob({ id: scheduleJobId('solo', first + 1000) }), null);
      assert.equal((await store.getSchedule({ name: 'solo' }))?.nextRunAt, first + 2000, 'a skipped tick still moves on');

      const [claimed] = await store.claim({ workerId: 'w1', host: 'h', leaseMs: 60_000, limit: 1, queues: null });
      assert.equal(claimed?.job.id, scheduleJobId('solo', first));
      assert.equal((await fire(store, 'solo', first + 2000, { nextRunAt: first + 3000 })).outcome, 'overlap', 'running counts too');
      await store.finishAttempt({ jobId: claimed!.job.id, workerId: 'w1', attempt: claimed!.attempt, result: ok, next: { state: 'completed', retryDelayMs: 0, countsAttempt: true } });
      assert.equal((await fire(store, 'solo', first + 3000)).outcome, 'fired');

      // Without --no-overlap, ticks fire whatever the previous job is doing.
      const free = await addDue(store, 'free', {}, 5000);
      assert.equal((await fire(store, 'free', free, { nextRunAt: free + 1000 })).outcome, 'fired');
      assert.equal((await fire(store, 'free', free + 1000)).outcome, 'fired');
    });

    it('catch-up: after an outage, last runs the latest missed tick once; none runs nothing and moves on', async ({ store }) => {
      const service = new ScheduleService({ store, log: () => undefined });
      const yearly = { kind: 'cron', expression: '0 0 1 1 *' } as const;
      const now = await store.now();
      const thisYear = Date.UTC(new Date(now).getUTCFullYear(), 0, 1);
      const longAgo = Date.UTC(new Date(now).getUTCFullYear() - 3, 0, 1);
      for (const catchUp of ['last', 'none'] as const) {
        await store.addSchedule({ schedule: newSchedule(`yearly-${catchUp}`, { cadence: yearly, catchUp }), nextRunAt: longAgo, replace: false });
      }
      const fired = await service.runOnce();
      assert.deepEqual(fired.map((f) => [f.name, f.result.outcome]).sort(), [['yearly-last', 'fired'], ['yearly-none', 'missed']]);
      const jobs = await store.listJobs({ limit: 10 });
      assert.deepEqual(jobs.map((job) => job.id), [scheduleJobId('yearly-last', thisYear)], 'one job, for the latest missed tick');
      const nextYear = Date.UTC(new Date(now).getUTCFullYear() + 1, 0, 1);
      for (const catchUp of ['last', 'none']) assert.equal((await store.getSchedule({ name: `yearly-${catchUp}` }))?.nextRunAt, nextYear);
      assert.deepEqual(await service.runOnce(), [], 'nothing is due any more');
    });

    it('pause: a paused schedule is not due and cannot fire; resume sets its next run', async ({ store }) => {
      const due = await addDue(store, 'nap');
      const paused = await store.setSchedulePaused({ name: 'nap', paused: true, nextRunAt: 0 });
      assert.deepEqual([paused?.paused, paused?.nextRunAt], [true, due]);
      assert.deepEqual((await store.dueSchedules({ limit: 10 })).schedules, []);
      assert.equal(await store.nextScheduleAt(), null);
      assert.equal((await fire(store, 'nap', due)).outcome, 'stale');
      assert.equal((await store.countJobs()).counts.pending, 0);

      const resumeAt = (await store.now()) + HOUR;
      const resumed = await store.setSchedulePaused({ name: 'nap', paused: false, nextRunAt: resumeAt });
      assert.deepEqual([resumed?.paused, resumed?.nextRunAt], [false, resumeAt]);
      assert.equal(await store.nextScheduleAt(), resumeAt);
      const again = await store.setSchedulePaused({ name: 'nap', paused: false, nextRunAt: resumeAt + HOUR });
      assert.equal(again?.nextRunAt, resumeAt, 'resuming an active schedule keeps its next run');
      assert.equal(await store.setSchedulePaused({ name: 'nope', paused: true, nextRunAt: 0 }), null);
    });

    it('runs a schedule now, outside its cadence, recording the job as its last', async ({ store }) => {
      await addDue(store, 'manual', {}, -HOUR);
      const job = await store.runSchedule({ name: 'manual', job: { ...jobForTick({ name: 'manual', job: { command: 'echo hi', priority: 4 } }, 0), id: 'manual@run-1' } });
      assert.deepEqual([job.id, job.state, job.command, job.priority], ['manual@run-1', 'pending', 'echo hi', 4]);
      const schedule = await store.getSchedule({ name: 'manual' });
      assert.deepEqual([schedule?.lastJobId, schedule?.lastJobState, schedule?.lastTickAt], ['manual@run-1', 'pending', null]);
      await assert.rejects(store.runSchedule({ name: 'nope', job: { ...jobForTick({ name: 'nope', job: { command: 'true' } }, 0), id: 'nope@run-1' } }), NotFoundError);
      assert.equal(await store.getJob({ id: 'nope@run-1' }), null);
    });
  });
}

/** Adds `name`, due `dueAgoMs` ago (negative: in the future), and returns that next run. */
async function addDue(store: Store, name: string, fields: Partial<NewSchedule> = {}, dueAgoMs = 1000): Promise<number> {
  const nextRunAt = Math.floor(((await store.now()) - dueAgoMs) / 1000) * 1000;
  await store.addSchedule({ schedule: newSchedule(name, fields), nextRunAt, replace: false });
  return nextRunAt;
}

/** Fires the tick `tickAt` of `name`, expecting the schedule at `expectedRunAt`, and sets its next run. */
function fire(store: Store, name: string, expectedRunAt: number, overrides: Partial<FireScheduleParams> = {}): ReturnType<Store['fireSchedule']> {
  return store.fireSchedule({
    name, expectedRunAt, tickAt: expectedRunAt, job: jobForTick({ name, job: { command: 'true' } }, expectedRunAt), nextRunAt: expectedRunAt + HOUR, ...overrides,
  });
}

function newSchedule(name: string, fields: Partial<NewSchedule> = {}): NewSchedule {
  return {
    name, cadence: { kind: 'cron', expression: '0 3 * * *' }, timeZone: 'UTC', noOverlap: false, catchUp: 'last', job: { command: 'true', env: { A: '1' } }, ...fields,
  };
}
