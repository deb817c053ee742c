import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { waitFor } from '../../support/wait-for';
import { describePerBackend, exitCodeOf } from '../../support/cli-session';

/** A command that prints "first", waits until `marker` exists, then prints "second". */
const gated = (marker: string) => `echo first; while [ ! -e '${marker}' ]; do sleep 0.05; done; echo second`;

describePerBackend('follow and wait', { workers: 1 }, (queue) => {
  it('logs --follow shows output while the job runs, and exits 0 once it finished', async () => {
    const marker = queue.path('release-follow');
    await queue.say(['enqueue', '--id', 'followed', '-c', gated(marker)]);
    const follower = queue.start(['logs', 'followed', '--follow']);
    try {
      await waitFor('"first" on the follower\'s stdout', () => follower.output().stdout.includes('first\n'));
      assert.equal((await queue.peek('followed'))?.state, 'processing', 'the line arrived while the job still ran');
      assert.doesNotMatch(follower.output().stdout, /second/);
      writeFileSync(marker, '');
      assert.equal(await exitCodeOf(follower, 'the follower'), 0);
      assert.equal(follower.output().stdout, 'first\nsecond\n');
      assert.equal((await queue.peek('followed'))?.state, 'completed');
    } finally {
      writeFileSync(marker, '');
      follower.child.kill('SIGKILL');
    }
  });

  it('enqueue --wait streams the output and exits with the command\'s exit code', async () => {
    const marker = queue.path('release-wait');
    const waiter = queue.start(['enqueue', '--wait', '--id', 'waited', '-c', `${gated(marker)}; echo oops >&2`]);
    try {
      await waitFor('"first" from enqueue --wait', () => waiter.output().stdout.includes('first\n'));
      assert.equal((await queue.peek('waited'))?.state, 'processing', 'output is streamed, not printed at the end');
      writeFileSync(marker, '');
      assert.equal(await exitCodeOf(waiter, 'enqueue --wait'), 0);
      assert.equal(waiter.output().stdout, 'first\nsecond\n');
      assert.match(waiter.output().stderr, /oops/, "the job's stderr goes to stderr");
    } finally {
      writeFileSync(marker, '');
      waiter.child.kill('SIGKILL');
    }

    const failed = await queue.run(['enqueue', '--wait', '--id', 'exit-3', '--max-retries', '0', '-c', 'echo failing; exit 3']);
    assert.equal(failed.code, 3, failed.stderr);
    assert.equal(failed.stdout, 'failing\n');
    assert.equal((await queue.peek('exit-3'))?.state, 'dead');
  });

  it('wait exits 0 when every job completed, and 1 when one ended dead', async () => {
    const batch = [
      { id: 'w-ok-1', command: 'true' },
      { id: 'w-ok-2', command: 'exit 0' },
      { id: 'w-dead', command: 'exit 5', max_retries: 0 },
    ];
    await queue.say(['enqueue', '--file', '-'], { input: batch.map((job) => JSON.stringify(job)).join('\n') });

    const good = await queue.run(['wait', 'w-ok-1', 'w-ok-2', '--timeout', '20']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, 'w-ok-1  completed\nw-ok-2  completed\n');

    const mixed = await queue.run(['wait', 'w-ok-1', 'w-dead', '--timeout', '20', '--json']);
    assert.equal(mixed.code, 1, mixed.stderr);
    const jobs = JSON.parse(mixed.stdout) as { id: string; state: string; exit_code: number | null }[];
    assert.deepEqual(jobs.map((j) => [j.id, j.state, j.exit_code]), [['w-ok-1', 'completed', 0], ['w-dead', 'dead', 5]]);
  });

  it('wait --timeout gives up with exit 124; bad input is exit 2, an unknown job exit 1', async () => {
    await queue.say(['enqueue', '--id', 'w-later', '--delay', '3600', '-c', 'true']);
    const timedOut = await queue.run(['wait', 'w-later', '--timeout', '0.3']);
    assert.equal(timedOut.code, 124, timedOut.stderr);
    assert.equal(timedOut.stdout, 'w-later  pending\n');
    assert.match(timedOut.stderr, /timed out after 0\.3s with 1 job\(s\) unfinished/);

    const badTimeout = await queue.run(['wait', 'w-later', '--timeout', 'soon']);
    assert.equal(badTimeout.code, 2);
    assert.match(badTimeout.stderr, /--timeout/);

    const unknown = await queue.run(['wait', 'w-later', 'no-such-job', '--timeout', '5']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no job with id 'no-such-job'/);
    await queue.say(['cancel', 'w-later']);
  });
});
