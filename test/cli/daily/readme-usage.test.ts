import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { CLI_BIN } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';

const README = join(__dirname, '..', '..', '..', 'README.md');

/** One `$ command` of a transcript, the exit code its comment announces (`# exit N`; 0 otherwise), and its output. */
interface Step {
  command: string;
  exitCode: number;
  output: string[];
}

/** The steps of the README's "Usage" transcript: its first ```console block. */
function usageSteps(): Step[] {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('## Usage\n'));
  const block = /```console\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the Usage section has a console block');
  const steps: Step[] = [];
  for (const line of block.trimEnd().split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), exitCode: Number(/# exit (\d+)/.exec(line)?.[1] ?? 0), output: [] });
    else steps.at(-1)?.output.push(line);
  }
  return steps;
}

/** Output that differs from run to run: random ids, pids, paths, times, counts of jobs still running. */
const VOLATILE = /^[0-9a-z]{10}$|pid \d|\/tmp\/|ago|\d{4}-\d\d-\d\dT|w_[0-9a-f]{10}/;

/**
 * Issue 13: the README's usage transcript works when pasted into a fresh shell: run line by line in one bash, in an
 * empty directory with an empty home and `queuectl` on the PATH, each command exits as the transcript says, and
 * prints what it shows wherever that does not vary between runs (`status`, whose counts depend on timing, is not compared).
 */
it('the README usage transcript runs as shown in a fresh shell', { timeout: 120_000 }, () => {
  const steps = usageSteps();
  assert.ok(steps.length > 10, 'found the transcript');
  const scratch = tempDir('queuectl-readme-');
  try {
    const bin = join(scratch.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'queuectl'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_BIN}" "$@"\n`);
    chmodSync(join(bin, 'queuectl'), 0o755);
    const work = join(scratch.dir, 'work');
    mkdirSync(work);
    // Each step's output and exit code go to files of its own, so the steps are compared one by one.
    const script = steps
      .map((step, i) => `{ ${step.command}\n} > ${scratch.dir}/out-${i} 2>&1; echo $? > ${scratch.dir}/code-${i}`)
      .join('\n');
    const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: join(scratch.dir, 'home'), TMPDIR: scratch.dir, NO_COLOR: '1' };
    const run = spawnSync('bash', ['--noprofile', '--norc', '-c', `${script}\nqueuectl worker stop --timeout 5s >/dev/null 2>&1`], { cwd: work, env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    steps.forEach((step, i) => {
      const output = readFileSync(join(scratch.dir, `out-${i}`), 'utf8');
      const code = Number(readFileSync(join(scratch.dir, `code-${i}`), 'utf8'));
      assert.equal(code, step.exitCode, `$ ${step.command}\n${output}`);
      if (step.command.startsWith('queuectl status')) return;
      // Table columns are as wide as their widest cell, which may vary ("2s ago"): spacing is not compared.
      const squeeze = (line: string) => line.replace(/\s+/g, ' ').trim();
      const stable = step.output.filter((line) => !VOLATILE.test(line)).map(squeeze);
      const printed = output.split('\n').map(squeeze);
      for (const line of stable) assert.ok(printed.includes(line), `$ ${step.command}: expected the line ${JSON.stringify(line)} in\n${output}`);
    });
  } finally {
    scratch.cleanup();
  }
});
