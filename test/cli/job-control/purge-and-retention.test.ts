import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { JobState } from '../../../src/core/job';
import { waitFor } from '../../support/wait-for';
import { describePerBackend, type CliSession } from '../../support/cli-session';

/**
 * Enqueues, in one batch, two jobs that complete, one that ends dead, one cancelled because it depends on the dead one,
 * and one pending for an hour. Returns the state each of the four that finish ends in, by id.
 */
async function enqueueBatch(queue: CliSession, prefix: string): Promise<Record<string, JobState>> {
  const batch = [
    { id: `${prefix}-done-1`, command: 'true' },
    { id: `${prefix}-done-2`, command: 'true' },
    { id: `${prefix}-dead`, command: 'exit 1', max_retries: 0 },
    { id: `${prefix}-cancelled`, command: 'true', depends_on: [`${prefix}-dead`] },
    { id: `${prefix}-pending`, command: 'true', delay: 3600 },
  ];
  await queue.say(['enqueue', '--file', '-'], { input: batch.map((job) => JSON.stringify(job)).join('\n') });
  const ends: JobState[] = ['completed', 'completed', 'dead', 'cancelled'];
  return Object.fromEntries(ends.map((state, i) => [batch[i]!.id, state]));
}

const ids = async (queue: CliSession) => (await queue.list()).map((job) => job.id).sort();

describePerBackend('purge', { workers: 1 }, (queue) => {
  it('rejects a bad duration or an unfinished state with exit 2', async () => {
    const badDuration = await queue.run(['purge', '--older-than', 'a while']);
    assert.equal(badDuration.code, 2);
    assert.match(badDuration.stderr, /--older-than: 'a while' is not a duration/);
    const badState = await queue.run(['purge', '--older-than', '0s', '--state', 'pending']);
    assert.equal(badState.code, 2);
    assert.match(badState.stderr, /'pending' is not a finished state/);
  });

  it('removes only finished jobs older than the duration; --dry-run only counts', async () => {
    for (const [id, state] of Object.entries(await enqueueBatch(queue, 'p'))) await queue.waitForState(id, state);
    const all = ['p-cancelled', 'p-dead', 'p-done-1', 'p-done-2', 'p-pending'];

    assert.deepEqual(JSON.parse(await queue.say(['purge', '--older-than', '1h', '--json'])), { purged: 0, matched: 0, dry_run: false });
    assert.deepEqual(JSON.parse(await queue.say(['purge', '--older-than', '0s', '--dry-run', '--json'])), { purged: 0, matched: 4, dry_run: true });
    assert.equal(await queue.say(['purge', '--older-than', '0s', '--dry-run']), '4 job(s) would be purged');
    assert.deepEqual(await ids(queue), all, 'a dry run deletes nothing');

    assert.equal(await queue.say(['purge', '--older-than', '0s', '--state', 'dead']), 'purged 1 job(s)');
    assert.deepEqual(await ids(queue), all.filter((id) => id !== 'p-dead'));
    assert.equal(await queue.say(['purge', '--older-than', '0s']), 'purged 3 job(s)');
    assert.deepEqual(await ids(queue), ['p-pending'], 'the pending job stays');
    const gone = await queue.run(['show', 'p-done-1']);
    assert.equal(gone.code, 1, 'its history went with it');
  });
});

// Workers apply `retention` themselves, in batches, every retention / 10 (at least a second apart). 2s leaves the
// test time to see each job finish before it goes.
describePerBackend('retention', { workers: 1, config: { retention: '2s' } }, (queue) => {
  it('deletes completed, dead and cancelled jobs once they are older than the retention', async () => {
    const ends = await enqueueBatch(queue, 'r');
    const finishing = Object.keys(ends);
    // Poll the store from the start: a job is deleted 2 to 3 seconds after it finished, so see it finish first.
    const seen = new Map<string, string>();
    await waitFor(
      'the jobs to finish, then the worker to delete them',
      async () => {
        const jobs = await Promise.all(finishing.map((id) => queue.peek(id)));
        for (const job of jobs) if (job) seen.set(job.id, job.state);
        return jobs.every((job) => job === null) && seen.size === finishing.length;
      },
      { timeoutMs: 15_000 },
    );
    assert.deepEqual(Object.fromEntries(seen), ends, 'each was seen finished before it went');
    assert.deepEqual(await ids(queue), ['r-pending'], 'unfinished jobs are kept');
  });
});
