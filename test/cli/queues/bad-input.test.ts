import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { backends } from '../../support/backends';
import { assertCleanFailure, CliSession } from '../../support/cli-session';

/** A bad input: the arguments, the exit code (2 usage, 1 other) and what the one stderr line must say. */
type BadInput = [args: string[], code: number, message: RegExp];

const BAD_NAME = /not a valid queue name \(1-64 letters, digits or \. _ : -, starting with a letter or digit\)/;
const BAD_RATE = /^queuectl: --rate: expected a number of jobs per second, minute or hour from 1 to 1000000, such as 10\/s/;
const BAD_CONCURRENCY = /^queuectl: --concurrency: expected a whole number from 0 \(no limit\) to 1000000/;

/** Issue 10: bad queue names, rates, limits and flags are refused in one line, exit 2, before the store changes. */
for (const backend of backends()) {
  describe(`bad queue input leaves the store unchanged (${backend.name})`, { skip: backend.skip }, () => {
    let session: CliSession;
    beforeEach(async () => {
      session = await CliSession.open(backend);
      // Jobs in two queues and settings on one, so "unchanged" covers the queue settings too (set up in-process).
      const job = { maxRetries: null, runAt: null, timeout: null, cwd: null, env: null, dependsOn: [], priority: 0, delayMs: 0 };
      await session.store.enqueue({
        jobs: [
          { ...job, id: 'seeded', command: 'echo seeded', queue: 'default' },
          { ...job, id: 'mail-1', command: 'echo mail', queue: 'email' },
        ],
        ifNotExists: false,
      });
      await session.store.setQueue({ name: 'email', concurrency: 2, rate: { count: 10, periodMs: 1000 } });
      await session.store.setQueue({ name: 'video', paused: true });
    });
    afterEach(async () => {
      await session.close();
    });

    /** Everything a queue command could change: the jobs, the queues with their settings, schedules and config. */
    async function snapshot(): Promise<unknown> {
      const store = session.store;
      return {
        jobs: await store.listJobs({ limit: 1000 }),
        queues: await store.listQueues(),
        schedules: await store.listSchedules(),
        config: await store.getConfig(),
      };
    }

    async function assertRejected(cases: BadInput[]): Promise<void> {
      const before = await snapshot();
      const results = await Promise.all(cases.map(([args]) => session.run(args)));
      cases.forEach(([args, code, message], i) => assertCleanFailure(results[i]!, { code, message }, `queuectl ${args.join(' ')}`));
      assert.deepEqual(await snapshot(), before, 'the store is unchanged');
    }

    it('refuses bad rates: zero, not a number, an unknown unit, too many', async () => {
      await assertRejected([
        [['queue', 'set', 'email', '--rate', '0/s'], 2, BAD_RATE],
        [['queue', 'set', 'email', '--rate', 'ten/s'], 2, BAD_RATE],
        [['queue', 'set', 'email', '--rate', '5/fortnight'], 2, BAD_RATE],
        [['queue', 'set', 'email', '--rate', '10'], 2, BAD_RATE],
        [['queue', 'set', 'email', '--rate', '-5/s'], 2, BAD_RATE],
        [['queue', 'set', 'email', '--rate', '2.5/s'], 2, BAD_RATE],
        [['queue', 'set', 'email', '--rate', '1000001/s'], 2, BAD_RATE],
        // Half of a change is no change: a good limit next to a bad rate is refused too.
        [['queue', 'set', 'email', '--concurrency', '5', '--rate', '0/s'], 2, BAD_RATE],
      ]);
    });

    it('refuses negative, fractional and huge concurrency limits', async () => {
      await assertRejected([
        [['queue', 'set', 'email', '--concurrency', '-1'], 2, BAD_CONCURRENCY],
        [['queue', 'set', 'email', '--concurrency', '2.5'], 2, BAD_CONCURRENCY],
        [['queue', 'set', 'email', '--concurrency', 'lots'], 2, BAD_CONCURRENCY],
        [['queue', 'set', 'email', '--concurrency', '1000001'], 2, BAD_CONCURRENCY],
        [['queue', 'set', 'email', '--concurrency', ''], 2, BAD_CONCURRENCY],
        [['queue', 'set', 'email', '--rate', 'unset', '--concurrency', '-3'], 2, BAD_CONCURRENCY],
      ]);
    });

    it('refuses bad queue names wherever a queue is named', async () => {
      const long = 'q'.repeat(65);
      await assertRejected([
        [['queue', 'set', 'bad name', '--concurrency', '3'], 2, BAD_NAME],
        [['queue', 'set', 'a/b', '--rate', '1/s'], 2, BAD_NAME],
        [['queue', 'set', long, '--concurrency', '3'], 2, BAD_NAME],
        [['queue', 'pause', '-dash-first'], 2, /^error: unknown option '-dash-first'/],
        [['queue', 'pause', '.hidden'], 2, BAD_NAME],
        [['queue', 'resume', 'emoji🙂'], 2, BAD_NAME],
        [['enqueue', '--queue', 'bad name', '-c', 'true'], 2, /^queuectl: queue: "bad name" is not a valid queue name/],
        [['enqueue', '{"command":"true","queue":""}'], 2, /^queuectl: queue: "" is not a valid queue name/],
        [['enqueue', '{"command":"true","queue":7}'], 2, /^queuectl: queue: 7 is not a valid queue name/],
        [['list', '--queue', 'a b'], 2, /^queuectl: --queue: "a b" is not a valid queue name/],
        [['status', '--queue', ''], 2, /^queuectl: --queue: "" is not a valid queue name/],
        [['dlq', 'list', '--queue', 'x!'], 2, /^queuectl: --queue: "x!" is not a valid queue name/],
        [['purge', '--older-than', '1d', '--queue', 'x!'], 2, /^queuectl: --queue: "x!" is not a valid queue name/],
        [['schedule', 'add', 'nightly', '--every', '1h', '-c', 'true', '--queue', 'no way'], 2, /^queuectl: queue: "no way" is not a valid queue name/],
      ]);
    });

    it('refuses unknown queue flags and subcommands, and a set that sets nothing', async () => {
      await assertRejected([
        [['queue', 'set', 'email', '--limit', '3'], 2, /unknown option '--limit'/],
        [['queue', 'set', 'email', '--concurency', '3'], 2, /unknown option '--concurency' \(Did you mean --concurrency\?\)/],
        [['queue', 'pause', 'email', '--force'], 2, /unknown option '--force'/],
        [['queue', 'list', '--queue', 'email'], 2, /unknown option '--queue'/],
        [['queue', 'drain', 'email'], 2, /unknown command 'drain'/],
        [['queue', 'set', '--concurrency', '3'], 2, /missing required argument 'name'/],
        [['queue', 'pause'], 2, /missing required argument 'name'/],
        [['queue', 'set', 'email'], 2, /^queuectl: queue set: give --concurrency N or --rate N\/s\|m\|h/],
        [['queue', 'set', 'email', '--rate'], 2, /option '--rate <n\/unit>' argument missing/],
      ]);
    });

    it('names a queue that does not exist, exit 1', async () => {
      await assertRejected([
        [['queue', 'resume', 'nope'], 1, /^queuectl: no queue named 'nope'.*see 'queuectl queue list'/],
        [['status', '--queue', 'nope'], 1, /^queuectl: no queue named 'nope'/],
      ]);
    });
  });
}
