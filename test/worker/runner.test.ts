import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { RunningCommand, withExitStatus, type RunCommandOptions } from '../../src/worker/runner';
import { useSpawnEngine } from '../../src/worker/spawn';
import { processRuns, signalQuietly } from '../support/processes';
import { skipEngine, SPAWN_ENGINES } from '../support/spawn-engines';
import { waitFor } from '../support/wait-for';

// Every test runs against both ways of starting a job (the body is left unindented).
for (const engine of SPAWN_ENGINES) {
describe(`RunningCommand (${engine})`, { skip: skipEngine(engine) }, () => {
  before(() => useSpawnEngine(engine));
  after(() => useSpawnEngine(null));
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

  const run = (command: string, output: [OutputStream, string][], options: Partial<RunCommandOptions> = {}) =>
    new RunningCommand({
      command,
      cwd: workDir,
      env: process.env,
      timeoutSeconds: null,
      captureDir,
      captureLimitBytes: 1024 * 1024,
      output: { output: (stream, data) => void output.push([stream, data]), dropped: () => {} },
      ...options,
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
    // SIGKILL was sent to its group after the grace; on a loaded machine the process may take a moment to die.
    const stubborn = Number(readFileSync(join(workDir, 'stubborn'), 'utf8'));
    await waitFor('the leftover to die of the SIGKILL', () => !processRuns(stubborn));
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

  it('reports a signal that killed the shell', async () => {
    const result = await run('kill -TERM $$', []).result;
    assert.deepEqual([result.outcome, result.exitCode, result.signal], ['exit', null, 'SIGTERM']);
  });

  it('runs in its working directory with its environment, leading its own process group and session', async () => {
    const output: [OutputStream, string][] = [];
    const env = { ...process.env, QUEUECTL_RUNNER_TEST: 'a value' };
    const command = run('pwd; echo "$QUEUECTL_RUNNER_TEST"; ps -o pgid=,sid= -p $$', output, { env });
    assert.equal((await command.result).exitCode, 0);
    const [pwd, value, ids] = output.map(([, data]) => data).join('').split('\n');
    assert.deepEqual([pwd, value, ids?.trim().split(/\s+/).map(Number)], [realpathSync(workDir), 'a value', [command.pid, command.pid]]);
  });

  it('kills a command asked to stop while it was still starting, as soon as it runs', async (t) => {
    // posix_spawn starts the process off the loop's thread: right after the constructor it has no pid yet.
    const command = run('sleep 30', []);
    t.after(() => command.pid !== null && signalQuietly(-command.pid));
    command.kill('SIGKILL', 'cancelled');
    const result = await command.result;
    assert.deepEqual([result.outcome, result.signal], ['cancelled', 'SIGKILL']);
    assert.ok(command.pid !== null && !processRuns(command.pid), 'its process is gone');
  });

  it('on a timeout kills the whole tree, not only the shell', async () => {
    const command = run('sleep 60 & echo $! > sleeper; wait', [], { timeoutSeconds: 0.3, killGraceMs: 200 });
    const result = await command.result;
    assert.equal(result.outcome, 'timeout');
    assert.equal(processRuns(Number(readFileSync(join(workDir, 'sleeper'), 'utf8'))), false, 'the sleeper was killed with its group');
  });

  it('records a command that cannot start, and a missing working directory, as spawn errors', async () => {
    // A single variable over the kernel's 128 KiB limit: exec fails with E2BIG.
    const env = { ...process.env, QUEUECTL_TOO_BIG: 'x'.repeat(256 * 1024) };
    const tooBig = await run('true', [], { env }).result;
    assert.equal(tooBig.outcome, 'spawn_error');
    assert.match(tooBig.error ?? '', /^could not start: .*(E2BIG|Argument list too long)/);
    const missing = await run('true', [], { cwd: join(workDir, 'gone') }).result;
    assert.deepEqual([missing.outcome, missing.error], ['spawn_error', `could not start: working directory ${join(workDir, 'gone')} does not exist`]);
    assert.deepEqual(readdirSync(captureDir), []);
  });
});
}
