import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI_BIN } from '../support/run-cli';
import { tempDir } from '../support/temp-store';
import { CliSession, exitCodeOf } from '../support/cli-session';
import { backends } from '../support/backends';

const UNIT = join(__dirname, '..', '..', 'contrib', 'systemd', 'queuectl-worker.service');

/** The value of each `Key=` line of the unit (the last one wins, as systemd reads them). */
function unitSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) settings.set(match[1]!, match[2]!);
  }
  return settings;
}

function systemdAnalyzeMissing(): string | false {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return probe.error ? 'systemd-analyze is not installed here, so the unit is not parsed' : false;
}

/** Issue 13: the shipped systemd user unit parses, and runs the workers in the foreground, stopping them gracefully. */
describe('contrib/systemd/queuectl-worker.service', () => {
  it('parses cleanly with systemd-analyze verify --user', { skip: systemdAnalyzeMissing() }, () => {
    // verify needs a runtime directory for a user manager; an unparsable line is only a warning, so any output fails.
    const runtime = tempDir('queuectl-systemd-');
    try {
      const verified = spawnSync('systemd-analyze', ['verify', '--user', UNIT], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime.dir } });
      assert.equal(verified.status, 0, verified.stderr);
      assert.equal(`${verified.stdout}${verified.stderr}`, '', 'no warnings');
    } finally {
      runtime.cleanup();
    }
  });

  it('its ExecStart keeps the workers in the foreground, and SIGTERM (KillMode=mixed) lets the running job finish', async (t) => {
    const settings = unitSettings(readFileSync(UNIT, 'utf8'));
    assert.equal(settings.get('KillMode'), 'mixed', 'SIGTERM reaches queuectl alone, not the jobs');
    const words = settings.get('ExecStart')!.split(/\s+/);
    assert.deepEqual(words.slice(0, 2), ['/usr/bin/env', 'queuectl']);
    const s = await CliSession.forTest(t, backends()[0]!);
    // The unit's command line, with the built CLI standing in for `queuectl` on the PATH.
    const service = spawn(process.execPath, [CLI_BIN, ...words.slice(2)], { cwd: s.dir, env: { ...process.env, QUEUECTL_DB: s.temp.location }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    service.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number>((resolve) => service.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
    try {
      await s.waitFor('the unit\'s 2 workers to register', async () => (await s.store.listWorkers({ staleAfterMs: 60_000 })).length === 2);
      const gate = s.gate();
      await s.enqueue({ id: 'in-flight', command: `${gate.wait}; echo finished` });
      await s.waitForRunning('in-flight');
      service.kill('SIGTERM');
      await s.waitFor('the stop to be acknowledged', () => stderr.includes('stopping after the running jobs finish'));
      assert.equal((await s.peek('in-flight'))?.state, 'processing', 'the job is left to finish');
      gate.open();
      assert.equal(await exitCodeOf({ child: service, output: () => ({ stdout: '', stderr }), exited }, 'the service'), 0, stderr);
      const job = await s.inspect('in-flight');
      assert.equal(job.state, 'completed');
      assert.equal(job.history.length, 1, 'it ran once, to its end');
    } finally {
      service.kill('SIGKILL');
    }
  });
});
