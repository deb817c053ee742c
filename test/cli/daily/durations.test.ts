import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';

/** Issue 13: one duration grammar, and config values that mean what they look like. */
describe('durations and config values', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  before(() => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db') };
  });
  after(() => dir.cleanup());

  it('takes 1h, 10m and bare seconds wherever a duration is taken', async () => {
    const enqueued = await runCli(target, ['enqueue', '-c', 'true', '--delay', '1h', '--timeout', '10m', '--json']);
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const job = JSON.parse(enqueued.stdout) as { id: string; run_at: string; created_at: string; timeout: number };
    assert.equal(Date.parse(job.run_at) - Date.parse(job.created_at), 3_600_000);
    assert.equal(job.timeout, 600);
    const waited = await runCli(target, ['wait', job.id, '--timeout', '0.2s']);
    assert.equal(waited.code, 124, waited.stderr);
    assert.equal((await runCli(target, ['config', 'set', 'job-timeout', '1h'])).stdout, 'job-timeout = 1h\n');
    assert.equal((await runCli(target, ['config', 'set', 'job-timeout', 'off'])).code, 0);
  });

  it('status: a job not yet due is not the oldest pending; the next scheduled run is shown apart', async () => {
    const status = JSON.parse((await runCli(target, ['status', '--json'])).stdout) as { oldest_pending_age_seconds: number | null; next_run_in_seconds: number | null };
    assert.equal(status.oldest_pending_age_seconds, null, 'the only pending job is due in an hour');
    assert.ok(status.next_run_in_seconds !== null && status.next_run_in_seconds > 3000, String(status.next_run_in_seconds));
    assert.match((await runCli(target, ['status'])).stdout, /Next scheduled run: in 59m\d\ds\n/);
  });

  it('requires a unit for retention, reads 0 and off as off, and shows a value as it was entered', async () => {
    const bare = await runCli(target, ['config', 'set', 'retention', '7']);
    assert.equal(bare.code, 2);
    assert.equal(bare.stderr, "queuectl: config retention: '7' needs a unit: 7s, 7m, 7h or 7d\n");
    assert.equal((await runCli(target, ['config', 'set', 'retention', '7d'])).code, 0);
    assert.equal((await runCli(target, ['config', 'get', 'retention'])).stdout, '7d\n');
    assert.equal((await runCli(target, ['config', 'set', 'retention', '0'])).code, 0);
    const listed = JSON.parse((await runCli(target, ['config', 'list', '--json'])).stdout) as Record<string, string>;
    assert.equal(listed.retention, '0');
    // retention 0 is off: a finished job stays.
    const { resolveConfig } = await import('../../../src/core/config');
    assert.equal(resolveConfig({ retention: '0' }).retention, null);
  });
});
