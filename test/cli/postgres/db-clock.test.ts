import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pgSkipReason, postgresBackend } from '../../support/temp-postgres';
import { CliSession } from '../../support/cli-session';

const HOUR = 3_600_000;

/**
 * Preloaded into a CLI process (NODE_OPTIONS=--require), it moves that process's clock (Date, Date.now) by
 * QUEUECTL_TEST_CLOCK_SKEW_MS: a host whose clock is off. Timers are monotonic and stay as they are.
 */
const SKEW_CLOCK = `
const skew = Number(process.env.QUEUECTL_TEST_CLOCK_SKEW_MS);
const RealDate = Date;
class SkewedDate extends RealDate {
  constructor(...args) { if (args.length === 0) super(RealDate.now() + skew); else super(...args); }
  static now() { return RealDate.now() + skew; }
}
globalThis.Date = SkewedDate;
`;

describe('PostgreSQL: scheduling follows the database clock, not the hosts\'', { skip: pgSkipReason() }, () => {
  let session: CliSession;
  let preload: string;
  before(async () => {
    session = await CliSession.open(postgresBackend());
    preload = session.path('skew-clock.cjs');
    writeFileSync(preload, SKEW_CLOCK);
  });
  after(async () => {
    await session?.close();
  });

  const skewed = (ms: number) => ({
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
    QUEUECTL_TEST_CLOCK_SKEW_MS: String(ms),
  });

  it('a delayed job enqueued on a host an hour fast runs on a host an hour slow, at the database\'s due time', async () => {
    // The worker's host is an hour behind: by its own clock nothing would be due for an hour.
    await session.startWorkers(1, { env: skewed(-HOUR) });
    const loggedAt = Date.parse(session.workerLog().split(' ')[0]!);
    assert.ok(Math.abs(loggedAt - (Date.now() - HOUR)) < 60_000, `the worker runs an hour slow: it logged ${new Date(loggedAt).toISOString()}`);

    // The enqueuing host is an hour ahead: run_at from its clock would be an hour late.
    const before = await session.store.now();
    const enqueued = await session.run(['enqueue', '--id', 'delayed', '--delay', '2', '-c', 'true', '--json'], { env: skewed(HOUR) });
    const afterEnqueue = await session.store.now();
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const job = (await session.store.getJob({ id: 'delayed' }))!;
    assert.ok(job.createdAt >= before && job.createdAt <= afterEnqueue, 'created at the database\'s now');
    assert.equal(job.runAt - job.createdAt, 2000, 'run_at = the database\'s now + delay');
    assert.equal(JSON.parse(enqueued.stdout).run_at, new Date(job.runAt).toISOString(), 'the enqueuing host printed the stored time');

    const done = await session.waitForState('delayed', 'completed', 20_000);
    const [attempt] = await session.store.listAttempts({ jobId: 'delayed' });
    assert.ok(attempt!.startedAt >= job.runAt, `not claimed before it was due (${attempt!.startedAt - job.runAt} ms)`);
    // The idle worker asked the database when the job is due and woke then, not at its next fallback poll.
    assert.ok(attempt!.startedAt - job.runAt < 2000, `claimed ${attempt!.startedAt - job.runAt} ms after it was due`);
    assert.equal(done.attempts, 1);
  });
});
