import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';
import { waitFor } from '../../support/wait-for';

/** Issue 13: a worker's log says when each job starts and how it ends, one line each. */
describe('worker log lines per job', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  before(() => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db'), env: { XDG_STATE_HOME: dir.dir, XDG_DATA_HOME: dir.dir } };
  });
  after(async () => {
    await runCli(target, ['worker', 'stop', '--timeout', '5s']);
    dir.cleanup();
  });

  it('logs started ID attempt N and finished ID STATE exit=C Ns', async () => {
    const started = await runCli(target, ['worker', 'start']);
    assert.equal(started.code, 0, started.stderr);
    const logPath = /\(log: (.+)\)$/m.exec(started.stdout)![1]!;
    await runCli(target, ['enqueue', '--id', 'ok', '-c', 'true']);
    await runCli(target, ['enqueue', '--id', 'bad', '--max-retries', '0', '-c', 'exit 3']);
    assert.equal((await runCli(target, ['wait', 'ok', 'bad', '--timeout', '20s'])).code, 1);
    const log = await waitFor('both jobs logged', () => {
      const text = readFileSync(logPath, 'utf8');
      return text.includes('finished bad') ? text : null;
    });
    assert.match(log, / started ok attempt 1\n/);
    assert.match(log, / finished ok completed exit=0 \d+\.\ds\n/);
    assert.match(log, / finished bad dead exit=3 \d+\.\ds\n/);
  });

  it('logs --tail N shows the last N lines', async () => {
    await runCli(target, ['enqueue', '--id', 'lines', '-c', 'for i in 1 2 3 4 5; do echo line $i; done']);
    assert.equal((await runCli(target, ['wait', 'lines', '--timeout', '20s'])).code, 0);
    assert.equal((await runCli(target, ['logs', 'lines', '--tail', '2'])).stdout, 'line 4\nline 5\n');
    assert.equal((await runCli(target, ['logs', 'lines'])).stdout.split('\n').length, 6);
  });
});
