import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ScheduleJson } from '../../src/core/schedule-json';
import { backends } from '../support/backends';
import { assertCleanFailure, CliSession, type JobJson } from '../support/cli-session';

const lines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line !== '') : []);
/** The tick a scheduled job's id names (`NAME@2030-01-01T00:00:05Z`), in epoch ms. */
const tickOf = (id: string): number => Date.parse(id.slice(id.indexOf('@') + 1));

for (const backend of backends()) {
  describe(`schedules (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {
    /** The jobs schedule `name` made, oldest tick first. */
    const jobsOf = async (s: CliSession, name: string): Promise<JobJson[]> =>
      (await s.json<JobJson[]>(['list', '--limit', '1000'])).filter((job) => job.id.startsWith(`${name}@`)).sort((a, b) => a.id.localeCompare(b.id));

    it('an --every 1s schedule with 3 workers fires once per second: no duplicates, no gaps, each on time', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const ran = s.path('ran.txt');
      await s.ok(['schedule', 'add', 'tick', '--every', '1s', '--command', `echo $QUEUECTL_JOB_ID >> ${ran}`]);
      await s.startWorkers(3);
      await s.waitFor('6 ticks run', () => lines(ran).length >= 6, 60_000);
      await s.ok(['schedule', 'pause', 'tick']);
      await s.waitFor('every fired job completed', async () => (await jobsOf(s, 'tick')).every((job) => job.state === 'completed'));

      const jobs = await jobsOf(s, 'tick');
      const written = lines(ran);
      assert.equal(written.length, jobs.length, 'each job ran once');
      assert.equal(new Set(written).size, written.length, 'no job ran twice');
      const ticks = jobs.map((job) => tickOf(job.id));
      for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, `consecutive ticks ${jobs[i - 1]!.id} and ${jobs[i]!.id}`);
      // Each job was enqueued within about a second of its tick (store clock; the first may wait for workers to start).
      const late = jobs.slice(1).map((job) => Date.parse(job.created_at) - tickOf(job.id));
      assert.ok(late.every((ms) => ms >= 0 && ms < 1500), `lateness of each tick (ms): ${late.join(', ')}`);
      const listed = await s.json<ScheduleJson[]>(['schedule', 'list']);
      assert.deepEqual([listed[0]?.name, listed[0]?.every, listed[0]?.paused, listed[0]?.last_job_id], ['tick', '1s', true, jobs[jobs.length - 1]!.id]);
    });

    it('schedule run enqueues a job now; removing a schedule stops it', async (t) => {
      const s = await CliSession.forTest(t, backend);
      await s.ok(['schedule', 'add', 'gone', '--every', '1s', '--command', 'true']);
      await s.ok(['schedule', 'add', 'hourly', '--cron', '0 * * * *', '--tz', 'UTC', '--command', 'echo manual']);
      const manual = (await s.ok(['schedule', 'run', 'hourly'])).trim();
      assert.match(manual, /^hourly@run-/);
      await s.startWorkers(1);
      const done = await s.waitForState(manual, 'completed');
      assert.equal(done.command, 'echo manual');
      await s.waitFor('gone fired twice', async () => (await jobsOf(s, 'gone')).length >= 2);

      await s.ok(['schedule', 'remove', 'gone']);
      const countAtRemoval = (await jobsOf(s, 'gone')).length;
      // A marker schedule shows time passing (three of its ticks) without a fixed sleep.
      await s.ok(['schedule', 'add', 'marker', '--every', '1s', '--command', 'true']);
      await s.waitFor('marker fired 3 times', async () => (await jobsOf(s, 'marker')).length >= 3);
      assert.equal((await jobsOf(s, 'gone')).length, countAtRemoval, 'no tick of a removed schedule fired');
      assertCleanFailure(await s.run(['schedule', 'run', 'gone']), { code: 1, message: /no schedule named 'gone'/ }, 'schedule run of a removed schedule');
      const hourly = await s.json<ScheduleJson>(['schedule', 'show', 'hourly']);
      assert.deepEqual([hourly.cron, hourly.tz, hourly.last_job_id, hourly.last_job_state], ['0 * * * *', 'UTC', manual, 'completed']);
    });

    it('a worker restart does not fire a tick twice', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const ran = s.path('ran.txt');
      await s.ok(['schedule', 'add', 'tick', '--every', '1s', '--command', `echo $QUEUECTL_JOB_ID >> ${ran}`]);
      await s.startWorkers(2);
      await s.waitFor('2 ticks run', () => lines(ran).length >= 2, 60_000);
      await s.ok(['worker', 'stop']);
      await s.startWorkers(2);
      const seen = lines(ran).length;
      await s.waitFor('3 more ticks run after the restart', () => lines(ran).length >= seen + 3, 60_000);
      await s.ok(['schedule', 'pause', 'tick']);
      await s.waitFor('every fired job completed', async () => (await jobsOf(s, 'tick')).every((job) => job.state === 'completed'));
      const written = lines(ran);
      assert.equal(new Set(written).size, written.length, `no tick ran twice: ${written.join(' ')}`);
      assert.equal(written.length, (await jobsOf(s, 'tick')).length);
    });

    it('validates on add: a bad expression, zone or duration is one line, exit 2, nothing stored; a taken name needs --replace', async (t) => {
      const s = await CliSession.forTest(t, backend);
      const bad: [string[], RegExp][] = [
        [['--cron', '61 * * * *'], /cron: '61 \* \* \* \*' is not a valid cron expression/],
        [['--cron', '* * * * *', '--tz', 'Mars/Base'], /tz: unknown time zone 'Mars\/Base'/],
        [['--every', 'often'], /every: 'often' is not a duration/],
        [['--every', '1s', '--catch-up', 'all'], /catch_up: expected none or last/],
        [[], /give the cadence as cron or every/],
      ];
      for (const [args, message] of bad) {
        assertCleanFailure(await s.run(['schedule', 'add', 'x', ...args, '--command', 'true']), { code: 2, message }, args.join(' '));
      }
      assertCleanFailure(await s.run(['schedule', 'add', '{"name":"x","cron":"bad","command":"true"}']), { code: 2, message: /not a valid cron expression/ }, 'JSON');
      assert.deepEqual(await s.json<ScheduleJson[]>(['schedule', 'list']), []);

      const added = await s.json<ScheduleJson>(['schedule', 'add', '{"name":"nightly","cron":"0 3 * * *","tz":"Europe/Paris","command":"./backup.sh","priority":5}']);
      assert.deepEqual([added.cron, added.tz, added.catch_up, added.no_overlap, added.job.priority, added.job.cwd], ['0 3 * * *', 'Europe/Paris', 'last', false, 5, s.dir]);
      assertCleanFailure(await s.run(['schedule', 'add', 'nightly', '--every', '1h', '--command', 'true']), { code: 1, message: /schedule 'nightly' exists; pass --replace/ }, 'duplicate');
      const replaced = await s.json<ScheduleJson>(['schedule', 'add', 'nightly', '--every', '1h', '--no-overlap', '--catch-up', 'none', '--command', 'true', '--replace']);
      assert.deepEqual([replaced.cron, replaced.every, replaced.no_overlap, replaced.catch_up], [null, '1h', true, 'none']);
      assertCleanFailure(await s.run(['schedule', 'pause', 'nope']), { code: 1, message: /no schedule named 'nope'/ }, 'pause unknown');
    });
  });
}
