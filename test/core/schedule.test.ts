import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors';
import {
  firstRunAt, jobForTick, ON_TIME_GRACE_MS, parseScheduleSpec, planTick, scheduleJobId, type NewSchedule,
} from '../../src/core/schedule';
import { overlapsPreviousJob } from '../../src/core/schedule-overlap';
import { latestTickAtOrBefore, nextTick, type ScheduleCadence } from '../../src/core/schedule-cadence';

const at = (text: string) => Date.parse(text);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const cron = (expression: string): ScheduleCadence => ({ kind: 'cron', expression });
const every = (everyMs: number): ScheduleCadence => ({ kind: 'every', everyMs });

/** The next `count` ticks after `from`. */
function ticks(cadence: ScheduleCadence, zone: string, from: string, count: number): string[] {
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < count; i++) {
    t = nextTick(cadence, zone, t)!;
    out.push(iso(t)!);
  }
  return out;
}

describe('schedule cadence: next tick', () => {
  it('is strictly after the given time, in whole seconds', () => {
    assert.equal(iso(nextTick(cron('* * * * * *'), 'UTC', at('2030-01-01T00:00:00.000Z'))), '2030-01-01T00:00:01.000Z');
    assert.equal(iso(nextTick(cron('* * * * * *'), 'UTC', at('2030-01-01T00:00:00.500Z'))), '2030-01-01T00:00:01.000Z');
    assert.deepEqual(ticks(cron('*/5 * * * *'), 'UTC', '2030-01-01T00:03:00Z', 3), ['2030-01-01T00:05:00.000Z', '2030-01-01T00:10:00.000Z', '2030-01-01T00:15:00.000Z']);
  });

  it('reads the expression in the schedule\'s zone', () => {
    // 09:00 in Paris is 08:00 UTC in winter, 07:00 UTC in summer; in New York 14:00 UTC in winter.
    assert.equal(iso(nextTick(cron('0 9 * * *'), 'Europe/Paris', at('2030-01-10T12:00:00Z'))), '2030-01-11T08:00:00.000Z');
    assert.equal(iso(nextTick(cron('0 9 * * *'), 'Europe/Paris', at('2030-07-10T12:00:00Z'))), '2030-07-11T07:00:00.000Z');
    assert.equal(iso(nextTick(cron('0 9 * * 1'), 'America/New_York', at('2030-01-01T00:00:00Z'))), '2030-01-07T14:00:00.000Z');
    assert.equal(iso(nextTick(cron('0 9 * * *'), 'UTC', at('2030-01-10T12:00:00Z'))), '2030-01-11T09:00:00.000Z');
  });

  // Europe/Paris springs forward on 2030-03-31 (02:00 CET -> 03:00 CEST, at 01:00Z) and falls back on 2030-10-27
  // (03:00 CEST -> 02:00 CET, at 01:00Z). These pin croner's rules, which the README documents.
  it('DST spring forward: a time in the skipped hour runs an hour later that day; others run as usual', () => {
    assert.deepEqual(ticks(cron('30 2 * * *'), 'Europe/Paris', '2030-03-30T12:00:00Z', 2), ['2030-03-31T01:30:00.000Z', '2030-04-01T00:30:00.000Z']);
    assert.deepEqual(ticks(cron('*/30 * * * *'), 'Europe/Paris', '2030-03-31T00:00:00Z', 4), [
      '2030-03-31T00:30:00.000Z', '2030-03-31T01:00:00.000Z', '2030-03-31T01:30:00.000Z', '2030-03-31T02:00:00.000Z',
    ]);
  });

  it('DST fall back: the repeated hour runs once, in its second (standard time) pass', () => {
    assert.deepEqual(ticks(cron('30 2 * * *'), 'Europe/Paris', '2030-10-26T12:00:00Z', 2), ['2030-10-27T01:30:00.000Z', '2030-10-28T01:30:00.000Z']);
    // 01:30 CEST (23:30Z), then 02:00 CET (01:00Z): the first pass of 02:00-02:59 (00:00Z-00:59Z) does not run.
    assert.deepEqual(ticks(cron('*/30 * * * *'), 'Europe/Paris', '2030-10-26T23:10:00Z', 3), [
      '2030-10-26T23:30:00.000Z', '2030-10-27T01:00:00.000Z', '2030-10-27T01:30:00.000Z',
    ]);
  });

  it('every: whole multiples of the interval since the epoch, whatever the zone', () => {
    assert.deepEqual(ticks(every(600_000), 'Asia/Kolkata', '2030-01-01T00:07:30Z', 2), ['2030-01-01T00:10:00.000Z', '2030-01-01T00:20:00.000Z']);
    assert.equal(iso(nextTick(every(1000), 'UTC', at('2030-01-01T00:00:00.999Z'))), '2030-01-01T00:00:01.000Z');
    assert.equal(iso(nextTick(every(1000), 'UTC', at('2030-01-01T00:00:01.000Z'))), '2030-01-01T00:00:02.000Z');
  });

  it('latest tick at or before now: found without walking every missed tick', () => {
    const now = at('2030-05-05T12:00:00.700Z');
    assert.equal(iso(latestTickAtOrBefore(cron('* * * * * *'), 'UTC', now, at('2029-01-01T00:00:00Z'))), '2030-05-05T12:00:00.000Z');
    assert.equal(iso(latestTickAtOrBefore(cron('0 0 * * *'), 'UTC', now, at('2030-01-02T00:00:00Z'))), '2030-05-05T00:00:00.000Z');
    assert.equal(iso(latestTickAtOrBefore(cron('0 0 1 1 *'), 'UTC', now, at('2030-01-01T00:00:00Z'))), '2030-01-01T00:00:00.000Z');
    assert.equal(iso(latestTickAtOrBefore(every(60_000), 'UTC', now, at('2030-05-05T11:00:00Z'))), '2030-05-05T12:00:00.000Z');
    assert.equal(latestTickAtOrBefore(cron('*/5 * * * *'), 'UTC', at('2030-01-01T00:05:00Z'), at('2030-01-01T00:05:00Z')), at('2030-01-01T00:05:00Z'));
  });
});

describe('schedule: planning a due tick (injected now)', () => {
  const base = { cadence: cron('*/5 * * * *'), timeZone: 'UTC' } as const;

  it('on time: fires the due tick and moves to the next', () => {
    const plan = planTick({ ...base, catchUp: 'none', nextRunAt: at('2030-01-01T00:05:00Z') }, at('2030-01-01T00:05:00.300Z'));
    assert.deepEqual(plan, { tickAt: at('2030-01-01T00:05:00Z'), nextRunAt: at('2030-01-01T00:10:00Z'), missed: false });
  });

  it('catch-up last: after an outage, the latest missed tick fires once and the rest are skipped', () => {
    const plan = planTick({ ...base, catchUp: 'last', nextRunAt: at('2030-01-01T00:05:00Z') }, at('2030-01-01T03:12:00Z'));
    assert.deepEqual(plan, { tickAt: at('2030-01-01T03:10:00Z'), nextRunAt: at('2030-01-01T03:15:00Z'), missed: true });
  });

  it('catch-up none: missed ticks are dropped; a tick late by less than the grace still fires', () => {
    const dropped = planTick({ ...base, catchUp: 'none', nextRunAt: at('2030-01-01T00:05:00Z') }, at('2030-01-01T03:12:00Z'));
    assert.deepEqual(dropped, { tickAt: null, nextRunAt: at('2030-01-01T03:15:00Z'), missed: true });
    const late = planTick({ ...base, catchUp: 'none', nextRunAt: at('2030-01-01T00:05:00Z') }, at('2030-01-01T00:05:00Z') + ON_TIME_GRACE_MS);
    assert.equal(late.tickAt, at('2030-01-01T00:05:00Z'));
  });

  it('names each tick\'s job deterministically, and builds it from the template as enqueue would', () => {
    assert.equal(scheduleJobId('backup', at('2026-11-29T19:05:00Z')), 'backup@2026-11-29T19:05:00Z');
    const job = jobForTick({ name: 'backup', job: { command: 'echo hi', priority: 3, max_retries: 1, timeout: 30, cwd: '/srv', env: { A: '1' } } }, at('2026-11-29T19:05:00Z'));
    assert.deepEqual(job, {
      id: 'backup@2026-11-29T19:05:00Z', command: 'echo hi', queue: 'default', maxRetries: 1, priority: 3, runAt: null, delayMs: 0, timeout: 30, cwd: '/srv', env: { A: '1' }, dependsOn: [],
    });
  });

  it('a new schedule first fires at its first tick after now', () => {
    assert.equal(firstRunAt({ cadence: cron('0 3 * * *'), timeZone: 'UTC' }, at('2030-01-01T03:00:00Z')), at('2030-01-02T03:00:00Z'));
  });

  it('no-overlap skips while the previous job has not finished', () => {
    for (const state of ['waiting', 'pending', 'processing', 'failed'] as const) assert.equal(overlapsPreviousJob(true, state), true, state);
    for (const state of ['completed', 'dead', 'cancelled'] as const) assert.equal(overlapsPreviousJob(true, state), false, state);
    assert.equal(overlapsPreviousJob(true, null), false);
    assert.equal(overlapsPreviousJob(false, 'processing'), false);
  });
});

describe('schedule: parsing what `schedule add` is given', () => {
  const now = at('2030-01-01T00:00:00Z');
  const parse = (spec: Record<string, unknown>, defaultCwd: string | null = '/home/me'): NewSchedule => parseScheduleSpec(spec, { now, defaultCwd, defaultTimeZone: 'Europe/Paris' });

  it('keeps the job fields as the template, with the cwd it was added from, and the defaults', () => {
    assert.deepEqual(parse({ name: 'backup', cron: '0  3 * * *', command: './backup.sh', priority: 2, env: { A: '1' } }), {
      name: 'backup', cadence: cron('0 3 * * *'), timeZone: 'Europe/Paris', noOverlap: false, catchUp: 'last',
      job: { command: './backup.sh', priority: 2, env: { A: '1' }, cwd: '/home/me' },
    });
    const full = parse({ name: 'tick', every: '10m', tz: 'utc', no_overlap: true, catch_up: 'none', command: 'true', cwd: '/srv' });
    assert.deepEqual([full.cadence, full.timeZone, full.noOverlap, full.catchUp, full.job.cwd], [every(600_000), 'UTC', true, 'none', '/srv']);
    assert.deepEqual(parse({ name: 's', every: 90, command: 'true' }).cadence, every(90_000));
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a bad expression', { name: 'x', cron: '61 * * * *', command: 'true' }, /cron: '61 \* \* \* \*' is not a valid cron expression/],
    ['a short expression', { name: 'x', cron: '* *', command: 'true' }, /cron: .* not a valid cron expression/],
    ['an expression that never fires', { name: 'x', cron: '0 0 30 2 *', command: 'true' }, /never fires/],
    ['a bad zone', { name: 'x', cron: '* * * * *', tz: 'Mars/Olympus', command: 'true' }, /tz: unknown time zone 'Mars\/Olympus'/],
    ['a bad duration', { name: 'x', every: 'soon', command: 'true' }, /every: 'soon' is not a duration/],
    ['a sub-second interval', { name: 'x', every: '500ms', command: 'true' }, /every: expected a whole number of seconds, at least 1s/],
    ['no cadence', { name: 'x', command: 'true' }, /exactly one/],
    ['two cadences', { name: 'x', cron: '* * * * *', every: '1m', command: 'true' }, /exactly one/],
    ['a bad name', { name: 'a@b', cron: '* * * * *', command: 'true' }, /not a valid schedule name/],
    ['a bad policy', { name: 'x', cron: '* * * * *', catch_up: 'all', command: 'true' }, /catch_up: expected none or last/],
    ['no command', { name: 'x', cron: '* * * * *' }, /command: required/],
    ['a bad job field', { name: 'x', cron: '* * * * *', command: 'true', priority: 'high' }, /priority: expected a whole number/],
    ['an unknown field', { name: 'x', cron: '* * * * *', command: 'true', colour: 'red' }, /unknown field 'colour'/],
    ['a per-job field', { name: 'x', cron: '* * * * *', command: 'true', depends_on: ['a'] }, /depends_on: not allowed in a schedule/],
  ];
  for (const [what, spec, message] of bad) {
    it(`rejects ${what} with one line`, () => {
      assert.throws(() => parse(spec), (err: Error) => err instanceof UsageError && message.test(err.message) && !err.message.includes('\n'));
    });
  }
});
