import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { RunningCommand, withExitStatus } from '../../src/worker/runner';
import { processRuns, signalQuietly } from '../support/processes';
import { waitFor } from '../support/wait-for';

describe('RunningCommand', () => {
  /** The capture directory, and the commands' working directory. */
  let captureDir: string;
  let workDir: string;
  beforeEach(() => {
    captureDir = mkdtempSync(join(tmpdir(), 'queuectl-runner-capture-'));
    workDir = mkdtempSync(join(tmpdir(), 'queuectl-runner-work-'));
  });
  afterEach(() => {
    rmSync(captureDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  const run = (command: string, output: [OutputStream, string][]) =>
    new RunningCommand({
      command,
      cwd: workDir,
      env: process.env,
      timeoutSeconds: null,
      captureDir,
      captureLimitBytes: 1024 * 1024,
      output: { output: (stream, data) => void output.push([stream, data]), dropped: () => {} },
    });

  it('reports the exit and the output of each stream, and leaves no capture file', async () => {
    const output: [OutputStream, string][] = [];
    const result = await run('echo out; echo err >&2; exit 3', output).result;
    assert.deepEqual([result.outcome, result.exitCode], ['exit', 3]);
    assert.deepEqual(output, [['stdout', 'out\n'], ['stderr', 'err\n']]);
    assert.deepEqual(readdirSync(captureDir), []);
  });

  it('ends when the shell exits, though a process it left behind holds its output open, and then ends that process', async (t) => {
    const output: [OutputStream, string][] = [];
    const command = run('sleep 60 & echo $! > sleeper; echo started', output);
    t.after(() => signalQuietly(-command.pid!));
    const result = await command.result;
    assert.deepEqual([result.outcome, result.exitCode, output], ['exit', 0, [['stdout', 'started\n']]]);
    const sleeper = Number(readFileSync(join(workDir, 'sleeper'), 'utf8'));
    await waitFor('the leftover sleeper ended', () => !processRuns(sleeper));
  });

  it('kills a leftover that ignores SIGTERM after the grace; the result stays the shell\'s', async (t) => {
    const output: [OutputStream, string][] = [];
    const command = new RunningCommand({
      command: `(trap '' TERM; echo $$ > /dev/null; sh -c 'echo $$ > stubborn; trap "" TERM; while :; do sleep 0.05; done') & while [ ! -s stubborn ]; do sleep 0.01; done; exit 4`,
      cwd: workDir, env: process.env, timeoutSeconds: null, captureDir, captureLimitBytes: 1024,
      output: { output: (stream, data) => void output.push([stream, data]), dropped: () => {} },
      killGraceMs: 300,
    });
    t.after(() => signalQuietly(-command.pid!));
    const started = Date.now();
    const result = await command.result;
    assert.deepEqual([result.outcome, result.exitCode, result.signal], ['exit', 4, null]);
    assert.ok(Date.now() - started >= 250, 'waited out the grace');
    assert.equal(processRuns(Number(readFileSync(join(workDir, 'stubborn'), 'utf8'))), false);
  });

  it('hands over output while the command still runs', async () => {
    const output: [OutputStream, string][] = [];
    const command = run('echo first; while [ ! -e go ]; do sleep 0.02; done; echo second', output);
    await waitFor('the first line while the command waits', () => output.length > 0);
    assert.deepEqual(output, [['stdout', 'first\n']]);
    writeFileSync(join(workDir, 'go'), '');
    assert.equal((await command.result).exitCode, 0);
    assert.deepEqual(output, [['stdout', 'first\n'], ['stdout', 'second\n']]);
  });

  it('honours a timeout past what setTimeout takes (30 days) instead of killing at once', async () => {
    const command = new RunningCommand({
      command: 'sleep 0.3; exit 5', cwd: workDir, env: process.env, timeoutSeconds: 2_592_000, captureDir, captureLimitBytes: 1024,
      output: { output: () => {}, dropped: () => {} },
    });
    const result = await command.result;
    assert.deepEqual([result.outcome, result.exitCode], ['exit', 5]);
  });

  it('has the shell write its exit status beside the output, keeping the command\'s exit code, quoting and $0', async () => {
    const statusDir = mkdtempSync(join(tmpdir(), "queuectl-it's $(x) `y` \\"));
    try {
      const statusPath = join(statusDir, 'a.status');
      const ran = spawnSync('/bin/sh', ['-c', withExitStatus('echo "$0 $#"; exit 7', statusPath)], { encoding: 'utf8' });
      assert.deepEqual([ran.status, ran.stdout, ran.stderr], [7, '/bin/sh 0\n', '']);
      assert.equal(readFileSync(statusPath, 'utf8'), '7\n');
      // A shell killed by a signal writes nothing, and one whose status file cannot be made says nothing about it.
      const killed = spawnSync('/bin/sh', ['-c', withExitStatus('kill -TERM $$', join(statusDir, 'b.status'))]);
      assert.deepEqual([killed.signal, existsSync(join(statusDir, 'b.status'))], ['SIGTERM', false]);
      const nowhere = spawnSync('/bin/sh', ['-c', withExitStatus('set -e; false', join(statusDir, 'none', 'c.status'))], { encoding: 'utf8' });
      assert.deepEqual([nowhere.status, nowhere.stderr], [1, '']);
    } finally {
      rmSync(statusDir, { recursive: true, force: true });
    }
  });
});
