import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { RunningCommand, type RunCommandOptions } from '../../src/worker/runner';
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
      onOutput: (stream, data) => output.push([stream, data]),
      ...options,
    });

  it('reports the exit and the output of each stream, and leaves no capture file', async () => {
    const output: [OutputStream, string][] = [];
    const result = await run('echo out; echo err >&2; exit 3', output).result;
    assert.deepEqual([result.outcome, result.exitCode], ['exit', 3]);
    assert.deepEqual(output, [['stdout', 'out\n'], ['stderr', 'err\n']]);
    assert.deepEqual(readdirSync(captureDir), []);
  });

  it('ends when the shell exits, though a process it left behind still holds its output open', async (t) => {
    const output: [OutputStream, string][] = [];
    const command = run('sleep 60 & echo $! > sleeper; echo started', output);
    t.after(() => signalQuietly(-command.pid!));
    const result = await command.result;
    assert.deepEqual([result.outcome, result.exitCode, output], ['exit', 0, [['stdout', 'started\n']]]);
    assert.ok(processRuns(Number(readFileSync(join(workDir, 'sleeper'), 'utf8'))), 'the sleeper still runs, holding the output file');
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
