import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { displayWidth, truncateToWidth } from '../../../src/cli/display-width';
import { colorEnabled, formatTable } from '../../../src/cli/output';
import { CLI_BIN, runCli, type CliEnv } from '../../support/run-cli';
import { tempDir } from '../../support/temp-store';

describe('output that fits', () => {
  it('measures display width: CJK and emoji take two columns, colour escapes none', () => {
    assert.equal(displayWidth('abc'), 3);
    assert.equal(displayWidth('日本語'), 6);
    assert.equal(displayWidth('🚀 go'), 5);
    assert.equal(displayWidth('\x1b[32mok\x1b[39m'), 2);
    assert.equal(truncateToWidth('日本語のコマンド', 7), '日本語…');
    assert.equal(displayWidth(truncateToWidth('日本語のコマンド', 7)), 7);
  });

  it('shrinks the widest column to the terminal, and leaves piped output whole', () => {
    const rows = [['a1', 'echo ' + 'x'.repeat(100)], ['b2', 'echo 日本語'.repeat(20)]];
    const fitted = formatTable(['id', 'command'], rows, 40);
    for (const line of fitted) assert.ok(displayWidth(line) <= 40, line);
    assert.ok(fitted[1]!.endsWith('…'));
    const whole = formatTable(['id', 'command'], rows, null);
    assert.ok(whole[1]!.endsWith('x'.repeat(100)));
  });

  it('colours only on a terminal, honouring NO_COLOR, FORCE_COLOR and TERM=dumb', () => {
    assert.equal(colorEnabled({}, true), true);
    assert.equal(colorEnabled({}, false), false);
    assert.equal(colorEnabled({ NO_COLOR: '1' }, true), false);
    assert.equal(colorEnabled({ TERM: 'dumb' }, true), false);
    assert.equal(colorEnabled({ FORCE_COLOR: '1' }, false), true);
    assert.equal(colorEnabled({ FORCE_COLOR: '0' }, true), false);
    assert.equal(colorEnabled({ CI: 'true' }, false), false, 'CI alone does not colour piped output');
  });
});

describe('tables and colour through the CLI', () => {
  let dir: { dir: string; cleanup: () => void };
  let target: CliEnv;
  before(async () => {
    dir = tempDir();
    target = { location: join(dir.dir, 'queue.db') };
    await runCli(target, ['enqueue', '--id', 'long', '-c', `echo ${'y'.repeat(300)}`]);
  });
  after(() => dir.cleanup());

  it('piped: the whole command and no colour; FORCE_COLOR: states in colour', async () => {
    const piped = await runCli(target, ['list'], { env: { NO_COLOR: '' } });
    assert.ok(piped.stdout.includes('y'.repeat(300)));
    assert.doesNotMatch(piped.stdout, /\x1b\[/);
    await runCli(target, ['cancel', 'long']);
    const forced = await runCli(target, ['list'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    assert.match(forced.stdout, /\x1b\[90mcancelled\x1b\[39m/);
  });

  it('on a terminal: each line fits its columns', () => {
    // script(1) gives the CLI a pseudo-terminal 80 columns wide.
    const command = `stty cols 80; QUEUECTL_DB='${target.location}' '${process.execPath}' '${CLI_BIN}' list`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
    const lines = run.stdout.split(/\r?\n/).filter((line) => line.includes('long') || line.includes('COMMAND'));
    assert.equal(lines.length, 2, run.stdout + run.stderr);
    for (const line of lines) assert.ok(displayWidth(line) <= 80, JSON.stringify(line));
  });
});
