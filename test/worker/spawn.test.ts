import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { groupHasMembers, spawnEngine, spawnJob, useSpawnEngine, workerSpawnEngine, type SpawnJobOptions } from '../../src/worker/spawn';
import { skipEngine, SPAWN_ENGINES } from '../support/spawn-engines';

/** Children of this process that exited and were never reaped. */
function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' && Number(ppid) === process.pid) zombies.push(Number(name));
  }
  return zombies;
}

/** This process's open pidfds (the addon holds one per running child). */
function openPidfds(): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[pidfd]';
    } catch {
      return false;
    }
  });
}

/**
 * Descriptors this process inherited without close-on-exec from whatever started it (a test harness's pipe, say):
 * Node's spawn passes them on to every child, the addon closes them. Node opens its own close-on-exec.
 */
function inheritedDescriptors(): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      const flags = /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      return Number(fd) > 2 && flags !== undefined && (parseInt(flags, 8) & 0o2000000) === 0;
    } catch {
      return false; // the directory's own descriptor, closed by now
    }
  });
}

for (const engine of SPAWN_ENGINES) {
  describe(`spawnJob (${engine})`, { skip: skipEngine(engine) }, () => {
    let dir: string;
    let out: number;
    let err: number;
    before(() => useSpawnEngine(engine));
    after(() => useSpawnEngine(null));
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'queuectl-spawn-'));
      out = openSync(join(dir, 'out'), 'a+');
      err = openSync(join(dir, 'err'), 'a+');
    });
    afterEach(() => {
      closeSync(out);
      closeSync(err);
      rmSync(dir, { recursive: true, force: true });
    });
    const sh = (command: string, options: Partial<SpawnJobOptions> = {}) =>
      spawnJob({ file: '/bin/sh', args: ['-c', command], cwd: dir, env: process.env, stdoutFd: out, stderrFd: err, ...options });

    it('is the engine in use', () => assert.equal(spawnEngine(), engine));

    // Only the addon's engine can be told from a process's mappings.
    if (engine === 'posix_spawn') it('tells a process that loaded the addon (as worker list shows a worker) from one that did not', async () => {
      assert.equal(workerSpawnEngine(process.pid), 'posix_spawn');
      const other = sh('sleep 30');
      // posix_spawn starts it off the loop's thread: its pid comes with `started`.
      await other.started;
      assert.equal(workerSpawnEngine(other.pid!), 'child_process');
      process.kill(other.pid!, 'SIGKILL');
      await other.exited;
      assert.equal(workerSpawnEngine(other.pid!), null, 'a reaped process');
    });

    it('hands the job stdin on /dev/null, stdout and stderr on its files, and no other descriptor of the worker', async () => {
      // `ls` opens the directory it lists, so the shell's own descriptors are listed rather than ls's (/proc/self).
      const exit = await sh('ls /proc/$$/fd; readlink /proc/$$/fd/0; echo oops >&2').exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      const passedOn = engine === 'child_process' ? inheritedDescriptors() : [];
      const expected = ['0', '1', '2', ...passedOn].sort().join('\n');
      assert.equal(readFileSync(join(dir, 'out'), 'utf8'), `${expected}\n/dev/null\n`);
      assert.equal(readFileSync(join(dir, 'err'), 'utf8'), 'oops\n');
    });

    it('starts the job with every signal at its default, though the worker ignores SIGPIPE', async () => {
      process.on('SIGPIPE', () => undefined);
      const exit = await sh('kill -PIPE $$; echo survived').exited;
      assert.deepEqual(exit, { code: null, signal: 'SIGPIPE' });
      assert.equal(readFileSync(join(dir, 'out'), 'utf8'), '');
      process.removeAllListeners('SIGPIPE');
    });

    it('tells whether any process is left in a job\'s group after its shell exited', async () => {
      // The shell leaves a background sleep in its group.
      const job = sh('sleep 30 & echo $! > bg');
      await job.exited;
      assert.equal(groupHasMembers(job.pid!), true, 'the background sleep is left');
      process.kill(Number(readFileSync(join(dir, 'bg'), 'utf8')), 'SIGKILL');
      const alone = sh('true');
      await alone.exited;
      assert.equal(groupHasMembers(alone.pid!), false, 'a job that left nothing');
    });

    it('fails to start a program that does not exist', async () => {
      await assert.rejects(async () => sh('', { file: join(dir, 'missing') }).exited, /ENOENT|No such file/);
    });

    it('leaves no zombie, no descriptor and no growth in memory after many short jobs', { timeout: 300_000 }, async () => {
      // The new engine is held to 10,000 (some 10 s on a quiet 2-core machine); Node's own, slower, to fewer.
      const total = engine === 'posix_spawn' ? 10_000 : 500;
      let started = 0;
      let rssAfterWarmUp = 0;
      const loop = async () => {
        while (started < total) {
          started++;
          const exit = await sh('true').exited;
          assert.equal(exit.code, 0);
          if (started === total / 5) rssAfterWarmUp = process.memoryUsage.rss();
        }
      };
      await Promise.all([loop(), loop(), loop(), loop()]);
      assert.deepEqual(zombieChildren(), []);
      assert.deepEqual(openPidfds(), [], 'every pidfd was closed');
      const growthMb = (process.memoryUsage.rss() - rssAfterWarmUp) / 2 ** 20;
      assert.ok(growthMb < 16, `RSS grew ${growthMb.toFixed(1)} MB from job ${total / 5} to job ${total}`);
    });
  });
}
