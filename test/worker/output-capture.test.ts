import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { createCaptureDirectory, OutputCapture, removeCaptureDirectory, type OutputSink } from '../../src/worker/output-capture';
import { useSpawnEngine } from '../../src/worker/spawn';
import { skipEngine, SPAWN_ENGINES } from '../support/spawn-engines';

type Chunk = [OutputStream, string];

describe('OutputCapture', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'queuectl-capture-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a shell command with its stdout and stderr on the capture's files, to its end. */
  const runInto = (capture: OutputCapture, script: string) =>
    spawnSync('/bin/sh', ['-c', script], { stdio: ['ignore', capture.fds[0], capture.fds[1]] });

  /** Where a test's reads land, in order, and how often output was reported lost. */
  const collector = () => {
    const chunks: Chunk[] = [];
    let drops = 0;
    const collect: OutputSink = { output: (stream, data) => void chunks.push([stream, data]), dropped: () => void drops++ };
    return { chunks, collect, drops: () => drops };
  };

  it('hands each stream what was written since the last read, and deletes its files on close', () => {
    const capture = new OutputCapture(dir, 1024);
    const { chunks, collect } = collector();
    runInto(capture, 'echo one; echo oops >&2');
    capture.read(collect);
    runInto(capture, 'echo two');
    capture.read(collect, true);
    assert.deepEqual(chunks, [['stdout', 'one\n'], ['stderr', 'oops\n'], ['stdout', 'two\n']]);
    assert.deepEqual(readdirSync(dir).map((name) => name.replace(/^.*\./, '')).sort(), ['err', 'out', 'pos'], 'the read positions are kept for a salvage');
    capture.close();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('keeps a character split across reads whole', () => {
    const capture = new OutputCapture(dir, 1024);
    const { chunks, collect } = collector();
    runInto(capture, "printf 'caf\\303'");
    capture.read(collect);
    runInto(capture, "printf '\\251!'");
    capture.read(collect, true);
    capture.close();
    assert.equal(chunks.map(([, data]) => data).join(''), 'café!');
    assert.ok(!chunks.some(([, data]) => data.includes('\uFFFD')), 'no replacement character');
  });

  for (const engine of SPAWN_ENGINES) {
    // posix_spawn's addon frees the read part in place (the file keeps its size); without it the file is truncated.
    const inPlace = engine === 'posix_spawn';
    it(`${inPlace ? 'frees a file in place' : 'empties a file'} once it was read past its limit, and what comes after still arrives (${engine})`, { skip: skipEngine(engine) }, (t) => {
      useSpawnEngine(engine);
      t.after(() => useSpawnEngine(null));
      const capture = new OutputCapture(dir, 3 * 1024 * 1024);
      const { chunks, collect, drops } = collector();
      const part = 2 * 1024 * 1024;
      for (let i = 0; i * part < capture.emptyAt; i++) {
        runInto(capture, `head -c ${part} /dev/zero | tr '\\0' ${i}`);
        capture.read(collect);
      }
      const stdout = () => chunks.map(([, data]) => data).join('');
      assert.equal(stdout().length, capture.emptyAt);
      assert.equal(drops(), 0);
      const file = statSync(join(dir, readdirSync(dir).find((name) => name.endsWith('.out'))!));
      if (inPlace) {
        assert.equal(file.size, capture.emptyAt, 'its size is kept');
        assert.ok(file.blocks * 512 < 64 * 1024, `its blocks are freed: ${file.blocks * 512} bytes left`);
      } else {
        assert.equal(file.size, 0, 'emptied');
      }
      // The command writes with O_APPEND: at the end of the file either way.
      writeSync(capture.fds[0], 'after\n');
      capture.read(collect, true);
      capture.close();
      assert.ok(stdout().endsWith('2222after\n'));
    });
  }

  it('reads only the last limit bytes of what is new, whole characters only, and says output was dropped', () => {
    const capture = new OutputCapture(dir, 1000);
    const { chunks, collect, drops } = collector();
    // 'é' is two bytes: a skip to the last 1000 of 3001 bytes lands after a first byte, in the middle of one.
    runInto(capture, "printf x; i=0; while [ $i -lt 1500 ]; do printf 'é'; i=$((i+1)); done; echo err >&2");
    const { newBytes } = capture.read(collect, true);
    capture.close();
    assert.equal(newBytes, 3001);
    assert.equal(drops(), 1);
    assert.deepEqual(chunks.map(([stream]) => stream).at(-1), 'stderr');
    const stdout = chunks.filter(([stream]) => stream === 'stdout').map(([, data]) => data).join('');
    assert.equal(stdout, 'é'.repeat(500));
  });
});

describe('capture directories', () => {
  it('go to the runtime directory, else $TMPDIR, when they are set', (t) => {
    const saved = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, TMPDIR: process.env.TMPDIR };
    const runtime = mkdtempSync(join(tmpdir(), 'queuectl-runtime-'));
    const temp = mkdtempSync(join(tmpdir(), 'queuectl-tmpdir-'));
    t.after(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(runtime, { recursive: true, force: true });
      rmSync(temp, { recursive: true, force: true });
    });
    const workerId = `w_roots${process.pid}`;
    process.env.XDG_RUNTIME_DIR = runtime;
    process.env.TMPDIR = temp;
    assert.equal(createCaptureDirectory(workerId), join(runtime, `queuectl-${workerId}`));
    removeCaptureDirectory(workerId);
    delete process.env.XDG_RUNTIME_DIR;
    assert.equal(createCaptureDirectory(workerId), join(temp, `queuectl-${workerId}`));
    removeCaptureDirectory(workerId);
    assert.deepEqual([readdirSync(runtime), readdirSync(temp)], [[], []]);
  });

  it('are private, made once per worker, and removed with what was left in them', () => {
    const workerId = `w_test${process.pid}`;
    const dir = createCaptureDirectory(workerId);
    try {
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.throws(() => createCaptureDirectory(workerId), /EEXIST/, 'an existing path is never taken over');
    } finally {
      const left = new OutputCapture(dir, 1024); // files left behind, as by a worker killed mid-job
      removeCaptureDirectory(workerId);
      left.close(); // their directory is gone: closing still works
    }
    assert.equal(existsSync(dir), false);
  });
});
