import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';

interface ListedJob { id: string; priority: number; max_retries: number; timeout: number | null; cwd: string; env: Record<string, string> | null; depends_on: string[] }

/** Issue 13: job flags given with `enqueue --file` are defaults for every line, not silently dropped. */
describe('enqueue --file with job flags', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  before(() => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db') };
  });
  after(() => dir.cleanup());

  it('applies the flags to every line; a line\'s own field wins', async () => {
    const file = join(dir.dir, 'jobs.jsonl');
    writeFileSync(file, [
      JSON.stringify({ id: 'plain', command: 'true' }),
      JSON.stringify({ id: 'own', command: 'true', priority: 1, max_retries: 0, timeout: 5, env: { B: 'line' }, depends_on: [] }),
    ].join('\n'));
    assert.equal((await runCli(target, ['enqueue', '--id', 'base', '-c', 'true'])).code, 0);
    const result = await runCli(target, [
      'enqueue', '--file', file, '--priority', '9', '--max-retries', '7', '--timeout', '10m', '--delay', '1h', '--cwd', dir.dir,
      '--env', 'A=flag', '--env', 'B=flag', '--after', 'base',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const jobs = JSON.parse((await runCli(target, ['list', '--json'])).stdout) as ListedJob[];
    const plain = jobs.find((job) => job.id === 'plain')!;
    const own = jobs.find((job) => job.id === 'own')!;
    assert.deepEqual([plain.priority, plain.max_retries, plain.timeout, plain.cwd, plain.env, plain.depends_on], [9, 7, 600, dir.dir, { A: 'flag', B: 'flag' }, ['base']]);
    assert.deepEqual([own.priority, own.max_retries, own.timeout, own.env, own.depends_on], [1, 0, 5, { A: 'flag', B: 'line' }, []]);
  });

  it('list --limit N --offset M pages, and --command searches', async () => {
    const ids = async (args: string[]) => ((JSON.parse((await runCli(target, ['list', '--json', ...args])).stdout)) as ListedJob[]).map((job) => job.id);
    const all = await ids([]);
    assert.deepEqual(await ids(['--limit', '1', '--offset', '1']), [all[1]]);
    assert.deepEqual(await ids(['--command', 'tr']), all, 'every job runs true');
    assert.deepEqual(await ids(['--command', 'no such command']), []);
  });

  it('refuses --id with --file in one line, enqueueing nothing', async () => {
    const file = join(dir.dir, 'one.jsonl');
    writeFileSync(file, JSON.stringify({ command: 'true' }));
    const result = await runCli(target, ['enqueue', '--file', file, '--id', 'x']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'queuectl: --id names one job; with --file, give each line its own "id"\n');
  });
});
