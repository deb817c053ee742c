import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';
import { dropSchema, pgSkipReason, randomSchema, TEST_PG_URL } from '../../support/temp-postgres';
import { Client } from 'pg';
import { waitFor } from '../../support/wait-for';

/** Issue 13: read commands never create a store; command lines people know from other tools work (hidden). */
describe('store paths and hidden aliases', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  before(() => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db') };
  });
  after(() => dir.cleanup());

  it('a read command on a missing path says so in one line and creates nothing', async () => {
    const missing = join(dir.dir, 'nonexistent', 'q.db');
    for (const args of [['status'], ['list'], ['show', 'x'], ['config', 'list'], ['worker', 'list'], ['dlq', 'list']]) {
      const result = await runCli(target, ['--db', missing, ...args]);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^queuectl: no queue at ${missing.replace(/[.]/g, '\\.')}; [^\\n]*\\n$`));
    }
    assert.equal(existsSync(join(dir.dir, 'nonexistent')), false, 'no directory was made');
  });

  it('on PostgreSQL too: a read command on a schema without a queue says so in one line and creates nothing', { skip: pgSkipReason() }, async () => {
    const schema = randomSchema();
    const pg = { location: TEST_PG_URL, env: { QUEUECTL_SCHEMA: schema } };
    const schemaExists = async () => {
      const client = new Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        return (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;
      } finally {
        await client.end();
      }
    };
    try {
      for (const args of [['status'], ['list'], ['worker', 'list'], ['queue', 'list']]) {
        const result = await runCli(pg, args);
        assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, new RegExp(`^queuectl: no queue in schema "${schema}" at [^\\n]*; 'queuectl init' [^\\n]*\\n$`));
      }
      assert.equal(await schemaExists(), false, 'no schema was made');
      assert.equal((await runCli(pg, ['init'])).code, 0);
      assert.equal((await runCli(pg, ['status'])).code, 0, 'once made, reads work');
    } finally {
      await dropSchema(schema);
    }
  });

  it('init creates the store if absent and prints where it is; QUEUECTL_DB_PATH names it too', async () => {
    const path = join(dir.dir, 'made', 'q.db');
    const first = await runCli(target, ['init'], { env: { QUEUECTL_DB: '', QUEUECTL_DB_PATH: path } });
    assert.deepEqual([first.code, first.stdout, first.stderr], [0, `${path}\n`, '']);
    assert.equal((await runCli(target, ['--db', path, 'init'])).stdout, `${path}\n`, 'an existing store is fine');
    assert.equal((await runCli(target, ['status', '--json'], { env: { QUEUECTL_DB: '', QUEUECTL_DB_PATH: path } })).code, 0);
    const help = await runCli(target, ['--help']);
    for (const word of ['init', 'worker-start', 'worker-run', 'worker-stop', 'job-file']) assert.doesNotMatch(help.stdout, new RegExp(word), `${word} is hidden`);
  });

  it('keeps commander\'s "did you mean" on the one error line', async () => {
    const result = await runCli(target, ['enqeue']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, "error: unknown command 'enqeue' (Did you mean enqueue?) (run with --help for usage)\n");
  });

  it('enqueue --job-file takes one pretty-printed job; config takes default_max_retries and worker-count', async () => {
    const file = join(dir.dir, 'job.json');
    writeFileSync(file, JSON.stringify({ id: 'from-file', command: 'true', priority: 4 }, null, 2));
    assert.equal((await runCli(target, ['enqueue', '--job-file', file])).stdout, 'from-file\n');
    assert.equal((await runCli(target, ['config', 'set', 'default_max_retries', '5'])).stdout, 'max-retries = 5\n');
    assert.equal((await runCli(target, ['config', 'get', 'max-retries'])).stdout, '5\n');
    assert.equal((await runCli(target, ['config', 'set', 'worker-count', '2'])).code, 0);
  });

  it('worker-start, worker-stop and worker-run are the worker subcommands; worker start counts worker-count', async () => {
    const started = await runCli(target, ['worker-start']);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^started 2 workers/, 'worker-count 2 from the config');
    const listWorkers = async () => JSON.parse((await runCli(target, ['worker', 'list', '--json'])).stdout) as unknown[];
    await waitFor('two workers registered', async () => (await listWorkers()).length === 2, { timeoutMs: 10_000 });
    assert.equal((await runCli(target, ['worker-stop'])).code, 0);
    await waitFor('the workers gone', async () => (await listWorkers()).length === 0, { timeoutMs: 10_000 });
    assert.equal((await runCli(target, ['worker-start', '--count', '1'])).stdout.startsWith('started 1 worker'), true);
    assert.equal((await runCli(target, ['worker-stop'])).code, 0);
  });
});
