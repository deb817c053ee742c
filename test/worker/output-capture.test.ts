import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { createCaptureDirectory, OutputCapture, removeCaptureDirectory } from '../../src/worker/output-capture';

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

  /** Where a test's reads land, in order. */
  const collector = () => {
    const chunks: Chunk[] = [];
    return { chunks, collect: (stream: OutputStream, data: string) => void chunks.push([stream, data]) };
  };

  it('hands each stream what was written since the last read, and deletes its files on close', () => {
    const capture = new OutputCapture(dir, 1024);
    const { chunks, collect } = collector();
    runInto(capture, 'echo one; echo oops >&2');
    capture.read(collect);
    runInto(capture, 'echo two');
    capture.read(collect, true);
    assert.deepEqual(chunks, [['stdout', 'one\n'], ['stderr', 'oops\n'], ['stdout', 'two\n']]);
    assert.equal(readdirSync(dir).length, 2);
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

  it('empties a file once its limit was read, and what comes after still arrives', () => {
    const capture = new OutputCapture(dir, 100);
    let stdout = '';
    const collect = (stream: OutputStream, data: string) => (stdout += stream === 'stdout' ? data : '');
    runInto(capture, 'i=0; while [ $i -lt 30 ]; do echo 0123456789; i=$((i+1)); done');
    capture.read(collect);
    assert.equal(stdout.length, 330);
    assert.equal(statSync(join(dir, readdirSync(dir).find((name) => name.endsWith('.out'))!)).size, 0, 'emptied');
    // The command writes with O_APPEND, so after the cut it writes at the start of the emptied file.
    writeSync(capture.fds[0], 'after\n');
    capture.read(collect, true);
    capture.close();
    assert.ok(stdout.endsWith('0123456789\nafter\n'));
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
