import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { describe, it } from 'node:test';
import { backends } from '../support/backends';
import { CliSession } from '../support/cli-session';

const sqlite = backends().find((backend) => backend.name === 'sqlite')!;

describe('lease recovery (sqlite)', () => {
  it('a job whose only worker could not report it in time gets its real result once the store answers, and does not run again', async (t) => {
    const s = await CliSession.open(sqlite);
    t.after(() => s.close());
    await s.configSet('lease-timeout', '2');
    const gate = s.gate();
    await s.enqueue({ id: 'unreported', command: `${gate.wait}; echo done`, max_retries: 2 });
    await s.startWorkers(1);
    await s.waitForRunning('unreported');

    // Another process holds the write lock while the job ends: the worker's report cannot be written before the lease
    // runs out, and it gives up on it.
    const other = new Database(s.temp.location);
    try {
      other.prepare('BEGIN IMMEDIATE').run();
      gate.open();
      await s.waitFor('the worker to give up on its report', () => /its result is not written/.test(s.workerLog()), 20_000);
    } finally {
      if (other.inTransaction) other.prepare('ROLLBACK').run();
      other.close();
    }
    await s.waitForState('unreported', 'completed', 30_000);
    const job = await s.show('unreported');
    // The result kept back is written as it was: one attempt, exit 0, not a lost attempt and a second run.
    assert.deepEqual(job.history.map((attempt) => [attempt.outcome, attempt.exit_code]), [['exit', 0]]);
    assert.match(s.workerLog(), /result written late; now completed/);
  });
});
