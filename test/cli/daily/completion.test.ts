import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_BIN, runCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';

/** Issue 13: completion scripts generated from the command tree, checked by sourcing them in bash. */
describe('queuectl completion', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  let bin: string;
  before(async () => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db') };
    await runCli(target, ['enqueue', '--id', 'backup-1', '-c', 'true']);
    await runCli(target, ['enqueue', '--id', 'mail-1', '--queue', 'email', '-c', 'true']);
    // The script runs `queuectl`: a shim on PATH.
    bin = join(dir.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'queuectl'), `#!/bin/sh\nexec '${process.execPath}' '${CLI_BIN}' "$@"\n`, { mode: 0o755 });
  });
  after(() => dir.cleanup());

  /** Sources the bash script, completes the words given (the last is being typed), prints the candidates. */
  function complete(words: string[]): string[] {
    const script = (runCliSyncText(['completion', 'bash']));
    const line = ['queuectl', ...words].map((w) => `'${w}'`).join(' ');
    const program = `${script}\ncomplete -p queuectl\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}; _queuectl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const run = spawnSync('bash', ['-c', program], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, QUEUECTL_DB: target.location } });
    assert.equal(run.status, 0, run.stderr);
    const [registered, ...candidates] = run.stdout.trim().split('\n');
    assert.equal(registered, 'complete -F _queuectl queuectl');
    return candidates.filter(Boolean);
  }

  function runCliSyncText(args: string[]): string {
    const run = spawnSync(process.execPath, [CLI_BIN, ...args], { encoding: 'utf8', env: { ...process.env, QUEUECTL_DB: target.location } });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  }

  it('completes commands, subcommands, options, config keys and job ids', () => {
    assert.ok(complete(['st']).includes('status'));
    assert.deepEqual(complete(['dlq', 'r']), ['retry']);
    assert.deepEqual(complete(['list', '--li']), ['--limit']);
    assert.deepEqual(complete(['config', 'set', 'reten']), ['retention']);
    assert.deepEqual(complete(['show', 'back']), ['backup-1']);
    assert.deepEqual(complete(['--db', target.location, 'logs', 'b']), ['backup-1']);
    assert.ok(!complete(['']).includes('init'), 'hidden commands are not offered');
  });

  it('completes the queue commands, their options and queue names from the store', () => {
    assert.deepEqual(complete(['queue', 'p']), ['pause']);
    assert.deepEqual(complete(['queue', 'set', 'email', '--c']), ['--concurrency']);
    assert.deepEqual(complete(['queue', 'set', 'em']), ['email']);
    assert.deepEqual(complete(['queue', 'resume', '']).sort(), ['default', 'email']);
    assert.deepEqual(complete(['list', '--queue', 'e']), ['email']);
    assert.deepEqual(complete(['config', 'set', 'reten']), ['retention'], 'config set still completes keys');
  });

  it('prints zsh and fish scripts, and refuses another shell in one line', async () => {
    assert.match(runCliSyncText(['completion', 'zsh']), /^#compdef queuectl\n/);
    const fish = runCliSyncText(['completion', 'fish']);
    assert.match(fish, /complete -c queuectl -n __fish_use_subcommand -a 'enqueue status/);
    assert.match(fish, /^complete -c queuectl -n '__fish_seen_subcommand_from queue; and __fish_seen_subcommand_from set' -l rate$/m, 'queue set apart from config set');
    const bad = await runCli(target, ['completion', 'tcsh']);
    assert.deepEqual([bad.code, bad.stderr], [2, "queuectl: completion: give a shell: bash, zsh or fish (got 'tcsh')\n"]);
  });
});
