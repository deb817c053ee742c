import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { describePerBackend, ms } from '../../support/cli-session';

const jsonl = (...jobs: object[]) => jobs.map((job) => JSON.stringify(job)).join('\n') + '\n';

describePerBackend('dependencies', { workers: 2 }, (queue) => {
  it('runs a -> b -> c (--after) in order, each after the previous one finished', async () => {
    const gate = queue.path('release-a');
    await queue.say(['enqueue', '--id', 'a', '-c', `while [ ! -e '${gate}' ]; do sleep 0.05; done`]);
    await queue.say(['enqueue', '--id', 'b', '--after', 'a', '-c', 'true']);
    await queue.say(['enqueue', '--id', 'c', '--after', 'b', '-c', 'true']);
    const waiting = JSON.parse(await queue.say(['list', '--state', 'waiting', '--json'])) as { id: string; depends_on: string[] }[];
    assert.deepEqual(waiting.map((j) => [j.id, j.depends_on]).sort(), [['b', ['a']], ['c', ['b']]]);

    writeFileSync(gate, '');
    await queue.waitForState('c', 'completed');
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => queue.inspect(id)));
    const only = (job: typeof a) => {
      assert.equal(job?.history.length, 1, `${job?.id} ran once`);
      return job!.history[0]!;
    };
    assert.ok(ms(only(b).started_at) >= ms(only(a).finished_at), 'b started after a finished');
    assert.ok(ms(only(c).started_at) >= ms(only(b).finished_at), 'c started after b finished');
  });

  it('cancels b and c, naming a, when a ends dead (depends_on in enqueue --file)', async () => {
    const batch = jsonl(
      { id: 'd-a', command: 'exit 1', max_retries: 0 },
      { id: 'd-b', command: 'echo never', depends_on: ['d-a'] },
      { id: 'd-c', command: 'echo never', depends_on: ['d-b'] },
    );
    assert.equal(await queue.say(['enqueue', '--file', '-'], { input: batch }), 'enqueued 3 jobs');
    await queue.waitForState('d-a', 'dead');
    const jobs = await Promise.all(['d-a', 'd-b', 'd-c'].map((id) => queue.inspect(id)));
    assert.deepEqual(
      jobs.map((j) => [j.id, j.state, j.attempts, j.last_error]),
      [
        ['d-a', 'dead', 1, 'exit code 1'],
        ['d-b', 'cancelled', 0, "dependency 'd-a' ended dead"],
        ['d-c', 'cancelled', 0, "dependency 'd-a' ended dead"],
      ],
    );
  });

  it('rejects an unknown dependency (exit 2) and enqueues nothing', async () => {
    const batch = jsonl({ id: 'u-ok', command: 'true' }, { id: 'u-bad', command: 'true', depends_on: ['u-ghost'] });
    const fromFile = await queue.run(['enqueue', '--file', '-'], { input: batch });
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /job 'u-bad' depends on unknown job 'u-ghost'/);

    const fromFlag = await queue.run(['enqueue', '--id', 'u-flag', '--after', 'u-ghost', '-c', 'true']);
    assert.equal(fromFlag.code, 2);
    assert.match(fromFlag.stderr, /unknown job 'u-ghost'/);
    for (const id of ['u-ok', 'u-bad', 'u-flag']) assert.equal(await queue.peek(id), null, `${id} was not enqueued`);
  });

  it('rejects a dependency cycle in enqueue --file (exit 2) and enqueues nothing', async () => {
    const batch = jsonl(
      { id: 'y-free', command: 'true' },
      { id: 'y-1', command: 'true', depends_on: ['y-3'] },
      { id: 'y-2', command: 'true', depends_on: ['y-1'] },
      { id: 'y-3', command: 'true', depends_on: ['y-2'] },
    );
    const result = await queue.run(['enqueue', '--file', '-'], { input: batch });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /dependency cycle y-1 -> y-3 -> y-2 -> y-1/);
    for (const id of ['y-free', 'y-1', 'y-2', 'y-3']) assert.equal(await queue.peek(id), null, `${id} was not enqueued`);
  });
});

// No workers: the jobs stay pending, which is all these tests need.
describePerBackend('idempotent enqueue', { workers: 0 }, (queue) => {
  it('--if-not-exists twice gives one job, exit 0 and the same id both times', async () => {
    const first = await queue.run(['enqueue', '--id', 'nightly', '--if-not-exists', '-c', 'echo first']);
    const second = await queue.run(['enqueue', '--id', 'nightly', '--if-not-exists', '-c', 'echo second']);
    assert.deepEqual([first.code, first.stdout], [0, 'nightly\n'], first.stderr);
    assert.deepEqual([second.code, second.stdout], [0, 'nightly\n'], second.stderr);
    const jobs = JSON.parse(await queue.say(['list', '--json'])) as { id: string; command: string }[];
    assert.deepEqual(jobs.filter((j) => j.id === 'nightly').map((j) => j.command), ['echo first'], 'the first job is kept unchanged');
  });

  it('"if_not_exists": true in the JSON does the same, and --json prints the existing job', async () => {
    const spec = JSON.stringify({ id: 'weekly', command: 'echo weekly', if_not_exists: true });
    assert.equal(await queue.say(['enqueue', spec]), 'weekly');
    const again = JSON.parse(await queue.say(['enqueue', spec, '--json'])) as { id: string; state: string };
    assert.deepEqual([again.id, again.state], ['weekly', 'pending']);
  });

  it('without it, a duplicate id is an error (exit 1) that changes nothing', async () => {
    await queue.say(['enqueue', '--id', 'once', '-c', 'echo once']);
    const duplicate = await queue.run(['enqueue', '--id', 'once', '-c', 'echo twice']);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /job 'once' already exists/);
    assert.equal((await queue.peek('once'))?.command, 'echo once');
  });
});
