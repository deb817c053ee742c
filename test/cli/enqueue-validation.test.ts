import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { backends } from '../support/backends';
import { assertCleanFailure, CliSession } from '../support/cli-session';
import { runCli } from '../support/run-cli';
import { tempDir } from '../support/temp-store';

/** A bad input: the arguments, the exit code (2 usage, 1 other) and what the one stderr line must say. */
type BadInput = [args: string[], code: number, message: RegExp];

const enqueueJson = (json: string): string[] => ['enqueue', json];

for (const backend of backends()) {
  describe(`bad input leaves the store unchanged (${backend.name})`, { skip: backend.skip }, () => {
    let session: CliSession;
    beforeEach(async () => {
      session = await CliSession.open(backend);
      // Something in every part of the store, so "unchanged" means something (set up in-process: it is not under test).
      const job = { queue: 'default', maxRetries: null, runAt: null, timeout: null, cwd: null, env: null, dependsOn: [] };
      await session.temp.store.enqueue({
        jobs: [
          { ...job, id: 'seeded', command: 'echo seeded', priority: 3, delayMs: 0 },
          { ...job, id: 'later', command: 'echo later', priority: 0, delayMs: 3_600_000 },
        ],
        ifNotExists: false,
      });
      await session.temp.store.setConfig({ key: 'max-retries', value: '5' });
    });
    afterEach(async () => {
      await session.close();
    });

    /**
     * Everything the store holds that a command could change: every job with its timestamps, the counts, the config
     * and the workers. Read in-process, which is cheaper than four more CLI runs and sees more than `list --json`.
     */
    async function snapshot(): Promise<unknown> {
      const store = session.temp.store;
      const jobs = await store.listJobs({ limit: 1000 });
      const attempts = await Promise.all(jobs.map((job) => store.listAttempts({ jobId: job.id })));
      const { counts } = await store.countJobs();
      return { jobs, attempts, counts, config: await store.getConfig(), workers: await store.listWorkers({ staleAfterMs: 60_000 }) };
    }

    /** Runs each bad input (at once), checks its one-line error, then that the store is as it was. */
    async function assertRejected(cases: BadInput[]): Promise<void> {
      const before = await snapshot();
      const results = await Promise.all(cases.map(([args]) => session.run(args)));
      cases.forEach(([args, code, message], i) => assertCleanFailure(results[i]!, { code, message }, `queuectl ${args.join(' ')}`));
      assert.deepEqual(await snapshot(), before, 'the store is unchanged');
    }

    it('rejects malformed or incomplete job JSON with exit 2', async () => {
      await assertRejected([
        [enqueueJson('{"command": "echo hi"'), 2, /^queuectl: invalid JSON/],
        [enqueueJson('{}'), 2, /^queuectl: command: required/],
        [enqueueJson('{"command":""}'), 2, /^queuectl: command: must not be empty/],
        [enqueueJson('{"command":"   "}'), 2, /^queuectl: command: must not be empty/],
        [enqueueJson('[]'), 2, /must be a JSON object.*an array/],
        [enqueueJson('null'), 2, /must be a JSON object.*null/],
        [['enqueue'], 2, /no job given/],
      ]);
    });

    it('rejects wrong types and unknown fields with exit 2, naming the field', async () => {
      await assertRejected([
        [enqueueJson('{"command":42}'), 2, /^queuectl: command: expected a string, got 42/],
        [enqueueJson('{"command":"x","max_retries":"3"}'), 2, /^queuectl: max_retries: expected a whole number/],
        [enqueueJson('{"command":"x","max_retries":-1}'), 2, /^queuectl: max_retries:/],
        [enqueueJson('{"command":"x","priority":1.5}'), 2, /^queuectl: priority:/],
        [enqueueJson('{"command":"x","timeout":-1}'), 2, /^queuectl: timeout:/],
        [enqueueJson('{"command":"x","delay":"soon"}'), 2, /^queuectl: delay:/],
        [enqueueJson('{"command":"x","run_at":"tomorrow"}'), 2, /^queuectl: run_at:/],
        [enqueueJson('{"command":"x","run_at":"2030-01-01T00:00:00Z","delay":5}'), 2, /run_at and delay/],
        [enqueueJson('{"command":"x","env":{"A":1}}'), 2, /^queuectl: env\.A: expected a string/],
        [enqueueJson('{"command":"x","depends_on":"seeded"}'), 2, /^queuectl: depends_on:/],
        [enqueueJson('{"command":"x","depends_on":["nope"]}'), 2, /unknown job 'nope'/],
        [enqueueJson('{"id":"bad id!","command":"x"}'), 2, /^queuectl: id:.*not a valid job id/],
        [enqueueJson('{"command":"x","colour":"red"}'), 2, /^queuectl: unknown field 'colour'/],
        [['enqueue', '--command', 'x', '--priority', 'high'], 2, /^queuectl: priority:/],
        [['enqueue', '{"command":"x"}', '--priority', '1'], 2, /JSON or as flags, not both/],
      ]);
    });

    it('rejects numbers and times out of bounds, before they reach the store', async () => {
      await assertRejected([
        [['enqueue', '--command', 'x', '--delay', '99999999999999999999'], 2, /^queuectl: delay: expected a number of seconds from 0 to 315360000/],
        [enqueueJson('{"command":"x","delay":1e20}'), 2, /^queuectl: delay:/],
        [enqueueJson('{"command":"x","timeout":1e20}'), 2, /^queuectl: timeout:/],
        [['enqueue', '--command', 'x', '--priority', '9223372036854775808'], 2, /^queuectl: priority: expected a whole number from -2147483648/],
        [['enqueue', '--command', 'x', '--max-retries', '99999999999'], 2, /^queuectl: max_retries:/],
        [['enqueue', '--command', 'x', '--run-at', '9999-01-01T00:00:00Z'], 2, /^queuectl: run_at: .* is out of range/],
        [['list', '--limit', '99999999999999999999'], 2, /^queuectl: --limit: .* is too large/],
        [['purge', '--older-than', '99999999999d'], 2, /^queuectl: --older-than: .* is too long/],
        [['config', 'set', 'job-timeout', '99999999999'], 2, /^queuectl: config job-timeout:/],
        [['config', 'set', 'output-limit', '1e20'], 2, /^queuectl: config output-limit:/],
      ]);
    });

    it('rejects input that could never run: NUL bytes, oversized strings, a missing cwd', async () => {
      mkdirSync(session.path('build'));
      writeFileSync(session.path('a-file'), '');
      writeFileSync(session.path('big-command.txt'), 'x'.repeat(140_000));
      writeFileSync(session.path('big-command.jsonl'), JSON.stringify({ command: 'x'.repeat(140_000) }));
      writeFileSync(session.path('big-env.jsonl'), JSON.stringify({ command: 'x', env: { BIG: 'y'.repeat(140_000) } }));
      await assertRejected([
        [enqueueJson('{"command":"echo a\\u0000b"}'), 2, /^queuectl: command: must not contain a NUL byte/],
        [enqueueJson('{"command":"x","cwd":"/tmp\\u0000"}'), 2, /^queuectl: cwd: must not contain a NUL byte/],
        [enqueueJson('{"command":"x","env":{"A":"\\u0000"}}'), 2, /^queuectl: env\.A: must not contain a NUL byte/],
        // Too big for a command line (spawn E2BIG), so they come in files.
        [['enqueue', '--command-file', 'big-command.txt'], 2, /^queuectl: --command-file: big-command\.txt is larger than 131071 bytes/],
        [['enqueue', '--file', 'big-command.jsonl'], 2, /line 1: command: 140000 bytes is over the 131071-byte limit of one exec argument/],
        [['enqueue', '--file', 'big-env.jsonl'], 2, /line 1: env\.BIG: 140004 bytes is over the 131071-byte limit/],
        [['enqueue', '--command', 'x', '--env', '=x'], 2, /^queuectl: --env: expected NAME=value/],
        [['enqueue', '--command', 'x', '--cwd', 'nowhere'], 2, new RegExp(`^queuectl: cwd: ${session.path('nowhere')} does not exist on this host`)],
        [['enqueue', '--command', 'x', '--cwd', 'a-file'], 2, /^queuectl: cwd: .*a-file is not a directory/],
      ]);
      // A relative --cwd is where enqueue ran, not where a worker runs.
      const job = JSON.parse(await session.ok(['enqueue', '--command', 'pwd', '--cwd', 'build', '--json'])) as { cwd: string };
      assert.equal(job.cwd, session.path('build'));
    });

    it('enqueue --file refuses a device, a directory, an endless line and a bad cwd, naming the line', async () => {
      writeFileSync(session.path('long-line.jsonl'), `${JSON.stringify({ command: 'true' })}\n${'x'.repeat(5 * 1024 * 1024)}\n`);
      writeFileSync(session.path('bad-cwd.jsonl'), [JSON.stringify({ command: 'true' }), JSON.stringify({ command: 'true', cwd: 'missing' })].join('\n'));
      await assertRejected([
        [['enqueue', '--file', '/dev/zero'], 2, /^queuectl: --file: \/dev\/zero is not a regular file or a pipe/],
        [['enqueue', '--file', session.dir], 2, /^queuectl: --file: .* is a directory/],
        [['enqueue', '--file', 'long-line.jsonl'], 2, /^queuectl: --file: line 2 of long-line\.jsonl is longer than 4194304 bytes; nothing enqueued/],
        [['enqueue', '--file', 'bad-cwd.jsonl'], 2, /^queuectl: 1 bad line in bad-cwd\.jsonl, nothing enqueued: line 2: cwd: .*missing does not exist on this host/],
        [['enqueue', '--command-file', '/dev/zero'], 2, /^queuectl: --command-file: \/dev\/zero is not a regular file or a pipe/],
      ]);
    });

    it('rejects a duplicate id with exit 1', async () => {
      await assertRejected([
        [enqueueJson('{"id":"seeded","command":"echo again"}'), 1, /^queuectl: job 'seeded' already exists/],
        [['enqueue', '--id', 'later', '--command', 'echo again'], 1, /^queuectl: job 'later' already exists/],
      ]);
    });

    it('rejects bad options, unknown states, config keys and values', async () => {
      await assertRejected([
        [['list', '--state', 'finished'], 2, /^queuectl: unknown state 'finished'/],
        [['list', '--limit', '0'], 2, /^queuectl: --limit/],
        [['list', '--limit', 'ten'], 2, /^queuectl: --limit: expected a whole number/],
        [['list', '--colour'], 2, /unknown option '--colour'/],
        [['frobnicate'], 2, /unknown command 'frobnicate'/],
        [['show'], 2, /missing required argument 'id'/],
        [['config', 'set', 'max-retrys', '3'], 2, /^queuectl: unknown config key 'max-retrys'/],
        [['config', 'set', 'backoff-base', 'fast'], 2, /^queuectl: config backoff-base: expected a number/],
        [['config', 'set', 'backoff-base', '0.5'], 2, /^queuectl: config backoff-base:/],
        [['config', 'set', 'max-retries', '-1'], 2, /^queuectl: config max-retries:/],
        [['config', 'set', 'lease-timeout', '0'], 2, /^queuectl: config lease-timeout:/],
        [['config', 'set', 'retention', 'forever'], 2, /^queuectl: config retention:.*'forever' is not a duration/],
        [['worker', 'start', '--count', '0'], 2, /^queuectl: --count/],
        [['worker', 'stop', '--timeout', 'soon'], 2, /^queuectl: --timeout/],
        [['dlq', 'retry'], 2, /give job ids or --all/],
      ]);
    });

    it('rejects unknown job ids with exit 1', async () => {
      await assertRejected([
        [['show', 'nope'], 1, /^queuectl: no job with id 'nope'/],
        [['logs', 'nope'], 1, /^queuectl: no job with id 'nope'/],
        [['dlq', 'retry', 'nope'], 1, /^queuectl: no job with id 'nope'/],
        [['cancel', 'nope'], 1, /^queuectl: no job with id 'nope'/],
        [['wait', 'nope'], 1, /^queuectl: no job with id 'nope'/],
        [['logs', 'seeded', '--attempt', '1'], 1, /^queuectl: job 'seeded' has no attempt 1/],
      ]);
    });

    it('enqueue --file is all or nothing and names the bad lines', async () => {
      const good = (id: string) => JSON.stringify({ id, command: `echo ${id}` });
      writeFileSync(session.path('bad-lines.jsonl'), [good('f1'), '{"id":"f2"', good('f3'), '{"id":"f4","command":""}', ''].join('\n'));
      writeFileSync(session.path('duplicate.jsonl'), [good('f5'), good('seeded'), good('f6')].join('\n'));
      writeFileSync(session.path('twice.jsonl'), [good('f7'), good('f7')].join('\n'));
      writeFileSync(session.path('empty.jsonl'), '\n\n');
      await assertRejected([
        [['enqueue', '--file', 'bad-lines.jsonl'], 2, /2 bad lines in bad-lines\.jsonl, nothing enqueued: line 2: invalid JSON.*; line 4: command: must not be empty/],
        [['enqueue', '--file', 'duplicate.jsonl'], 1, /job 'seeded' already exists/],
        [['enqueue', '--file', 'twice.jsonl'], 2, /'f7' appears twice; nothing enqueued/],
        [['enqueue', '--file', 'empty.jsonl'], 2, /holds no jobs/],
        [['enqueue', '--file', 'missing.jsonl'], 2, /^queuectl: --file: cannot read missing\.jsonl: ENOENT/],
      ]);
    });
  });
}

describe('an unusable --db', () => {
  let dir: string;
  let removeDir: () => void;
  before(() => {
    ({ dir, cleanup: removeDir } = tempDir());
    mkdirSync(join(dir, 'a-directory'));
    writeFileSync(join(dir, 'a-file'), 'not a directory\n');
  });
  after(() => removeDir());

  it('fails with one line, exit 1, and creates nothing', async () => {
    const cases: [string, string[]][] = [
      [join(dir, 'a-directory'), ['list']],
      [join(dir, 'a-directory'), ['enqueue', '{"command":"echo hi"}']],
      [join(dir, 'a-file', 'queue.db'), ['status']],
      [join(dir, 'a-file', 'queue.db'), ['enqueue', '{"command":"echo hi"}']],
      ['postgres://nobody@127.0.0.1:1/none', ['status']],
    ];
    const results = await Promise.all(cases.map(([db, args]) => runCli({ location: '/nonexistent/unused.db' }, ['--db', db, ...args])));
    cases.forEach(([db, args], i) => assertCleanFailure(results[i]!, { code: 1, message: /^queuectl: (cannot (open database|connect to PostgreSQL)|no queue at )/ }, `--db ${db} ${args.join(' ')}`));
    assert.deepEqual(readdirSync(dir).sort(), ['a-directory', 'a-file']);
    assert.deepEqual(readdirSync(join(dir, 'a-directory')), []);
  });
});
