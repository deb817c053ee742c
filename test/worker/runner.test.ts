import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { RunningCommand } from '../../src/worker/runner';
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
      onOutput: (stream, data) => output.push([stream, data]),
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
});
