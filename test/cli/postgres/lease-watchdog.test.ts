import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Client } from 'pg';
import { pgSkipReason, postgresBackend, TEST_PG_URL } from '../../support/temp-postgres';
import { CliSession } from '../../support/cli-session';
import { processRuns } from '../../support/processes';

/**
 * The first attempt records its pid and sleeps (only a kill ends it); a later one records when it started, and whether
 * the first attempt's process still ran then.
 */
const job = (dir: string): string =>
  `if [ "$QUEUECTL_ATTEMPT" = 1 ]; then echo $$ > ${dir}/first.pid; exec sleep 60; fi; ` +
  `date +%s%3N > ${dir}/second.start; p=$(cat ${dir}/first.pid); ` +
  `if [ -e /proc/$p ] && [ "$(awk '{print $3}' /proc/$p/stat)" != Z ]; then echo overlap; else echo clean; fi > ${dir}/second.txt; sleep 1`;

const firstPid = (s: CliSession): number | null => {
  try {
    return Number(readFileSync(s.path('first.pid'), 'utf8').trim()) || null;
  } catch {
    return null;
  }
};

describe('PostgreSQL: the lease watchdog', { skip: pgSkipReason() }, () => {
  let s: CliSession;
  beforeEach(async () => {
    s = await CliSession.open(postgresBackend());
  });
  afterEach(async () => {
    await s?.close();
  });

  it('kills a job whose heartbeat hangs on a lock before its lease can run out; the next attempt never overlaps it', async () => {
    await s.store.setConfig({ key: 'lease-timeout', value: '3' });
    await s.ok(['enqueue', JSON.stringify({ id: 'held', command: job(s.dir), max_retries: 2 })]);
    await s.startWorkers(1, { host: 'a' });
    await s.waitForRunning('held');
    const pid = await s.waitFor('the first attempt to record its pid', () => firstPid(s));
    await s.startWorkers(1, { host: 'b' });

    // Another session locks the job's row: the heartbeat's UPDATE waits on it and would never return without a deadline.
    const admin = new Client({ connectionString: TEST_PG_URL });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM "${s.temp.env.QUEUECTL_SCHEMA}".jobs WHERE id = 'held' FOR UPDATE`);
      const lockedAt = Date.now();
      await s.waitFor('the first attempt to be killed', () => !processRuns(pid), 10_000);
      const killedAfter = Date.now() - lockedAt;
      // Its last renewal was sent before the lock was taken: its lease lasts until at least lockedAt + 3 s.
      assert.ok(killedAfter < 3000, `killed ${killedAfter} ms after the lock, within the 3 s lease`);
      process.stderr.write(`# heartbeat blocked: the job was killed ${killedAfter} ms after its row was locked (lease 3000 ms)\n`);
      // Hold the lock past the lease, so a reaper elsewhere would take the job if it could.
      const until = lockedAt + 4500;
      await s.waitFor('the lease to be long past', () => Date.now() > until);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
    }
    await s.waitForState('held', 'completed', 30_000);
    assert.equal(readFileSync(s.path('second.txt'), 'utf8').trim(), 'clean', 'the first attempt was gone when the second started');
    const history = await s.store.listAttempts({ jobId: 'held' });
    assert.deepEqual(history.map((attempt) => attempt.outcome), ['worker_lost', 'exit']);
    assert.match(s.workerLog(), /killing it so it never runs twice at once/);
  });

  it('a worker frozen (SIGSTOP) past its lease kills its job at once when it resumes', async () => {
    await s.store.setConfig({ key: 'lease-timeout', value: '2' });
    await s.ok(['enqueue', JSON.stringify({ id: 'frozen', command: job(s.dir), max_retries: 2 })]);
    const [frozen] = await s.startWorkers(1, { host: 'a' });
    await s.waitForRunning('frozen');
    const pid = await s.waitFor('the first attempt to record its pid', () => firstPid(s));
    // On another host: its reaper has only the lease to go by, and cannot kill what runs on "a".
    await s.startWorkers(1, { host: 'b' });
    process.kill(frozen!, 'SIGSTOP');
    let resumedAt = 0;
    try {
      await s.waitFor('the second attempt to start on b', () => {
        try {
          return readFileSync(s.path('second.start'), 'utf8').trim() !== '';
        } catch {
          return false;
        }
      }, 20_000);
    } finally {
      resumedAt = Date.now();
      process.kill(frozen!, 'SIGCONT');
    }
    await s.waitFor('the frozen worker to kill its job', () => !processRuns(pid), 5000);
    const killedAfter = Date.now() - resumedAt;
    const secondStart = Number(readFileSync(s.path('second.start'), 'utf8').trim());
    const overlap = Date.now() - secondStart;
    process.stderr.write(`# SIGSTOP past the lease: killed ${killedAfter} ms after SIGCONT; the two attempts overlapped at most ${overlap} ms, ` +
      `${resumedAt - secondStart} ms of it while the worker was still stopped\n`);
    assert.ok(killedAfter < 1000, `killed ${killedAfter} ms after it resumed`);
    await s.waitForState('frozen', 'completed', 30_000);
    const history = await s.store.listAttempts({ jobId: 'frozen' });
    assert.deepEqual(history.map((attempt) => [attempt.host, attempt.outcome]), [['a', 'worker_lost'], ['b', 'exit']]);
    assert.match(s.workerLog(), /paused for/);
  });

  it('a worker paused past the stale limit registers again on resuming, so `worker stop` stops it', async () => {
    await s.store.setConfig({ key: 'lease-timeout', value: '3' });
    const [paused] = await s.startWorkers(1, { host: 'a' });
    const [peer] = await s.startWorkers(1, { host: 'b' });
    const registeredPids = async () => (await s.store.listWorkers({ staleAfterMs: 60_000 })).map((worker) => worker.pid);
    process.kill(paused!, 'SIGSTOP');
    try {
      await s.waitFor('the peer to remove the paused worker\'s registration', async () => !(await registeredPids()).includes(paused!), 20_000);
    } finally {
      process.kill(paused!, 'SIGCONT');
    }
    const resumedAt = Date.now();
    await s.waitFor('the resumed worker to register again', async () => (await registeredPids()).includes(paused!), 5000);
    const after = Date.now() - resumedAt;
    assert.ok(after < 2500, `registered again ${after} ms after resuming (a heartbeat every second)`);
    const stopped = await s.ok(['worker', 'stop', '--timeout', '10']);
    assert.match(stopped, /stopped 2 worker\(s\)/);
    await s.waitFor('both workers to exit', () => !processRuns(paused!) && !processRuns(peer!));
  });
});
