import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { describePerBackend, type JobJson } from '../../support/cli-session';

interface QueueJson {
  name: string;
  jobs: Record<string, number>;
  running: number;
  concurrency: number | null;
  rate: string | null;
  paused: boolean;
}

const zero = { waiting: 0, pending: 0, processing: 0, completed: 0, failed: 0, dead: 0, cancelled: 0 };

/** Issue 10: named queues through the CLI: where jobs go, how they are listed, and the queue commands' output. */
describePerBackend('named queues in the CLI', { workers: 0 }, (session) => {
  it('enqueue puts a job in the queue it names (flag, JSON, --file default); default is `default`', async () => {
    await session.say(['enqueue', '--id', 'q-plain', '--delay', '1h', '-c', 'true']);
    await session.say(['enqueue', '--id', 'q-flag', '--queue', 'email', '--delay', '1h', '-c', 'true']);
    await session.say(['enqueue', JSON.stringify({ id: 'q-json', queue: 'video', delay: '1h', command: 'true' })]);
    writeFileSync(session.path('jobs.jsonl'), `${JSON.stringify({ id: 'q-file-1', command: 'true' })}\n${JSON.stringify({ id: 'q-file-2', queue: 'video', command: 'true' })}\n`);
    assert.equal(await session.say(['enqueue', '--file', 'jobs.jsonl', '--queue', 'email', '--delay', '1h']), 'enqueued 2 jobs');

    const queues = Object.fromEntries((await session.list()).map((job) => [job.id, job.queue]));
    assert.deepEqual(queues, { 'q-plain': 'default', 'q-flag': 'email', 'q-json': 'video', 'q-file-1': 'email', 'q-file-2': 'video' });
    assert.equal((await session.show('q-flag')).queue, 'email', 'show --json has the queue');
    assert.match(await session.ok(['show', 'q-flag']), /^queue {7}email$/m);
  });

  it('list --queue keeps one queue; the table shows a queue column when queues differ', async () => {
    const email = await session.json<JobJson[]>(['list', '--queue', 'email']);
    assert.deepEqual(email.map((job) => job.id).sort(), ['q-file-1', 'q-flag']);
    assert.deepEqual(await session.json<JobJson[]>(['list', '--queue', 'nowhere']), []);

    const table = (await session.ok(['list'])).split('\n');
    assert.match(table[0]!, /^ID\s+QUEUE\s+STATE\s+ATTEMPTS/);
    assert.match(table.find((line) => line.startsWith('q-json'))!, /^q-json\s+video\s+pending/);
    const filtered = (await session.ok(['list', '--queue', 'video'])).split('\n');
    assert.match(filtered[0]!, /^ID\s+STATE\s+ATTEMPTS/, 'one queue asked for: no queue column');
  });

  it('queue set, pause and resume change only what they name, and queue list shows it', async () => {
    assert.equal(await session.say(['queue', 'set', 'email', '--concurrency', '3']), 'queue email: limit 3, no rate');
    assert.equal(await session.say(['queue', 'set', 'email', '--rate', '10/s']), 'queue email: limit 3, rate 10/s');
    assert.equal(await session.say(['queue', 'set', 'video', '--rate', '100/m', '--concurrency', '2']), 'queue video: limit 2, rate 100/m');
    assert.equal(await session.say(['queue', 'set', 'video', '--concurrency', '0']), 'queue video: no limit, rate 100/m');
    assert.equal(await session.say(['queue', 'set', 'video', '--rate', 'unset']), 'queue video: no limit, no rate');
    assert.equal(await session.say(['queue', 'pause', 'video']), "paused queue video: its jobs wait until 'queuectl queue resume video'");
    // A queue may be set before any job names it.
    const reports = await session.json<QueueJson>(['queue', 'set', 'reports', '--concurrency', 'unset', '--rate', '5/h']);
    assert.deepEqual(reports, { name: 'reports', jobs: zero, jobs_capped: [], running: 0, concurrency: null, rate: '5/h', paused: false });

    const listed = await session.json<QueueJson[]>(['queue', 'list']);
    assert.deepEqual(listed, [
      { name: 'default', jobs: { ...zero, pending: 1 }, jobs_capped: [], running: 0, concurrency: null, rate: null, paused: false },
      { name: 'email', jobs: { ...zero, pending: 2 }, jobs_capped: [], running: 0, concurrency: 3, rate: '10/s', paused: false },
      { name: 'reports', jobs: zero, jobs_capped: [], running: 0, concurrency: null, rate: '5/h', paused: false },
      { name: 'video', jobs: { ...zero, pending: 2 }, jobs_capped: [], running: 0, concurrency: null, rate: null, paused: true },
    ]);
    assert.equal(
      await session.ok(['queue', 'list']),
      [
        'NAME     WAITING  PENDING  RUNNING  COMPLETED  FAILED  DEAD  CANCELLED  LIMIT  RATE  PAUSED',
        'default  0        1        0        0          0       0     0          -      -     no',
        'email    0        2        0        0          0       0     0          3      10/s  no',
        'reports  0        0        0        0          0       0     0          -      5/h   no',
        'video    0        2        0        0          0       0     0          -      -     yes',
        '',
      ].join('\n'),
    );
  });

  it('status shows counts per queue and the paused ones; --queue narrows it to one', async () => {
    const status = await session.ok(['status']);
    assert.match(status, /^Queues\n {2}QUEUE {4}PENDING {2}RUNNING {2}FAILED {2}DEAD {2}COMPLETED {2}SETTINGS\n {2}default {2}1 {8}0 {8}0 {7}0 {5}0 {10}-\n {2}email {4}2 {8}0\/3 {6}0 {7}0 {5}0 {10}limit 3, rate 10\/s\n/m);
    assert.match(status, /^ {2}video {4}2 {8}0 {8}0 {7}0 {5}0 {10}no limit, no rate, paused$/m);
    assert.match(status, /^Paused: video \(its jobs wait; resume with: queuectl queue resume video\)$/m);

    const json = await session.json<{ queues: QueueJson[]; jobs: Record<string, number> }>(['status']);
    assert.deepEqual(json.queues.map((queue) => [queue.name, queue.paused]), [['default', false], ['email', false], ['reports', false], ['video', true]]);
    assert.equal(json.jobs.pending, 5);

    const one = await session.ok(['status', '--queue', 'video']);
    assert.match(one, /^Queue video: no limit, no rate, paused \(resume with: queuectl queue resume video\)\nJobs\n/);
    assert.match(one, /^ {2}pending {5}2$/m);
    assert.doesNotMatch(one, /Queues|Oldest pending/);
    const oneJson = await session.json<Record<string, unknown>>(['status', '--queue', 'email']);
    assert.deepEqual(oneJson.queue, { name: 'email', jobs: { ...zero, pending: 2 }, jobs_capped: [], running: 0, concurrency: 3, rate: '10/s', paused: false });
    assert.equal((oneJson.jobs as Record<string, number>).pending, 2);

    assert.equal(await session.say(['queue', 'resume', 'video']), 'resumed queue video: its jobs start again');
    assert.doesNotMatch(await session.ok(['status']), /Paused/);
  });

  it('a schedule\'s jobs go to the queue it names', async () => {
    await session.ok(['schedule', 'add', 'nightly-mail', '--every', '1d', '--queue', 'email', '-c', 'true']);
    const schedule = await session.json<{ job: Record<string, unknown> }>(['schedule', 'show', 'nightly-mail']);
    assert.equal(schedule.job.queue, 'email');
    const job = await session.json<JobJson>(['schedule', 'run', 'nightly-mail']);
    assert.equal(job.queue, 'email');
    await session.ok(['cancel', job.id]);
  });
});

describePerBackend('dead and finished jobs per queue', { workers: 1 }, (session) => {
  it('dlq list --queue and purge --queue keep to one queue', async () => {
    await session.enqueueMany([
      { id: 'dead-a', queue: 'alpha', max_retries: 0, command: 'exit 3' },
      { id: 'dead-b', queue: 'beta', max_retries: 0, command: 'exit 4' },
      { id: 'done-a', queue: 'alpha', command: 'true' },
      { id: 'done-b', queue: 'beta', command: 'true' },
    ]);
    for (const id of ['dead-a', 'dead-b']) await session.waitForState(id, 'dead');
    for (const id of ['done-a', 'done-b']) await session.waitForState(id, 'completed');

    assert.deepEqual((await session.json<JobJson[]>(['dlq', 'list', '--queue', 'beta'])).map((job) => job.id), ['dead-b']);
    assert.match((await session.ok(['dlq', 'list'])).split('\n')[0]!, /^ID\s+QUEUE\s+ATTEMPTS/);
    assert.equal(await session.say(['dlq', 'list', '--queue', 'gamma']), 'The dead letter queue holds no job of queue gamma.');

    assert.equal(await session.say(['purge', '--older-than', '0s', '--queue', 'alpha', '--dry-run']), '2 job(s) of queue alpha would be purged');
    assert.equal(await session.say(['purge', '--older-than', '0s', '--queue', 'alpha']), 'purged 2 job(s) of queue alpha');
    assert.deepEqual((await session.list()).map((job) => job.id).sort(), ['dead-b', 'done-b']);
  });
});
