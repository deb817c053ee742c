import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pgSkipReason, postgresBackend } from '../../support/temp-postgres';
import { CliSession, readLines } from '../../support/cli-session';

const JOBS = 2_000;
const WORKERS = 8;

describe('PostgreSQL: many worker processes drain one queue', { skip: pgSkipReason() }, () => {
  let session: CliSession;
  before(async () => {
    session = await CliSession.open(postgresBackend());
  });
  after(async () => {
    await session?.close();
  });

  it(`${WORKERS} workers run ${JOBS} jobs, each exactly once`, async () => {
    const ran = session.path('ran.txt');
    const ids = Array.from({ length: JOBS }, (_, i) => `job-${String(i).padStart(4, '0')}`);
    // Everything is queued before any worker starts, so all of them compete for the same rows from the first claim.
    await session.enqueueMany(ids.map((id) => ({ id, command: `echo "$QUEUECTL_JOB_ID" >> ${ran}`, max_retries: 0 })));

    await session.startWorkers(WORKERS);
    const workers = await session.json<{ id: string; state: string }[]>(['worker', 'list']);
    assert.equal(workers.length, WORKERS, 'every worker registered');

    const done = await session.waitFor(`${JOBS} jobs to finish`, async () => {
      const { counts } = await session.store.countJobs();
      return counts.completed + counts.dead + counts.failed + counts.cancelled === JOBS ? counts : null;
    }, 150_000);
    assert.equal(done.completed, JOBS, `every job completed: ${JSON.stringify(done)}`);

    const lines = readLines(ran);
    assert.equal(lines.length, JOBS, 'one line per run: no job ran twice');
    assert.deepEqual([...new Set(lines)].sort(), ids, 'every job ran');

    const jobs = await session.store.listJobs({ states: ['completed'], limit: JOBS + 1 });
    assert.equal(jobs.length, JOBS);
    const retried = jobs.filter((job) => job.attempts !== 1).map((job) => `${job.id}: ${job.attempts}`);
    assert.deepEqual(retried, [], 'every job completed on its first attempt');

    const status = await session.json<{ jobs: Record<string, number> }>(['status']);
    assert.equal(status.jobs.completed, JOBS, 'status agrees');
  });
});
