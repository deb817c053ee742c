import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { OutputStream } from '../../src/core/job';
import { OutputBuffer, type OutputBatch } from '../../src/worker/output-buffer';
import { RunningCommand } from '../../src/worker/runner';
import { tempSqliteStore } from '../support/temp-store';

const MiB = 1024 * 1024;

describe('output of a job writing far past the output limit', () => {
  it('keeps worker memory and capture files bounded, and stores exactly the tail, flagged truncated', async (t) => {
    const temp = await tempSqliteStore();
    const captureDir = mkdtempSync(join(tmpdir(), 'queuectl-bounds-'));
    t.after(async () => {
      rmSync(captureDir, { recursive: true, force: true });
      rmSync(`${captureDir}.tail`, { force: true });
      await temp.cleanup();
    });
    const { store } = temp;
    await store.enqueue({ jobs: [{ id: 'loud', command: 'x', maxRetries: 0, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: {}, dependsOn: [], queue: 'default' }], ifNotExists: false });
    const { attempt } = (await store.claim({ workerId: 'w', host: 'h', leaseMs: 60_000, limit: 1, queues: null }))[0]!;

    const limitBytes = MiB;
    let writes = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    const output = new OutputBuffer(limitBytes, async ({ chunks, truncated }: OutputBatch) => {
      writes++;
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        await store.appendOutput({ jobId: 'loud', attempt, chunks, limitBytes, truncated });
        return true;
      } finally {
        inFlight--;
      }
    });
    const tail = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join('');
    // 400 MB of 'a' (as fast as `tr` writes), then at once the numbered lines in one write; stderr gets a little first.
    // The read part of a file is freed in place (the addon's fallocate), so the tail is whole however the command's
    // writes and the worker's reads interleave. (A file emptied by truncation could lose what lands between its last
    // read and the cut: the child_process engine's way, tested in output-capture.test.ts.)
    writeFileSync(`${captureDir}.tail`, tail);
    const command = `echo start >&2; head -c 400000000 /dev/zero | tr '\\0' a; cat ${captureDir}.tail`;

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssMost = rssBefore;
    let fileMost = 0;
    const sample = setInterval(() => {
      rssMost = Math.max(rssMost, process.memoryUsage().rss);
      for (const name of readdirSync(captureDir)) {
        try {
          // The room a file takes (freed in place, its size grows on).
          fileMost = Math.max(fileMost, statSync(join(captureDir, name)).blocks * 512);
        } catch {
          // Deleted meanwhile.
        }
      }
    }, 10);
    const running = new RunningCommand({ command, cwd: null, env: process.env, timeoutSeconds: null, captureDir, captureLimitBytes: limitBytes, output });
    const result = await running.result;
    await output.close();
    clearInterval(sample);

    const growthMiB = (rssMost - rssBefore) / MiB;
    t.diagnostic(`RSS growth ${growthMiB.toFixed(1)} MiB; largest capture file ${(fileMost / MiB).toFixed(1)} MiB; ${writes} store writes`);
    assert.deepEqual([result.outcome, result.exitCode], ['exit', 0]);
    const chunks = await store.readOutput({ jobId: 'loud', attempt });
    const byStream = (stream: OutputStream) => chunks.filter((c) => c.stream === stream).map((c) => c.data).join('');
    const stdout = byStream("stdout");
    assert.equal(Buffer.byteLength(stdout) + Buffer.byteLength(byStream('stderr')), limitBytes);
    assert.ok(stdout.endsWith(tail), `the tail, whole: ...${JSON.stringify(stdout.slice(-tail.length - 20, -tail.length + 200))}`);
    assert.match(stdout.slice(0, -tail.length), /^a+$/);
    const [record] = await store.listAttempts({ jobId: 'loud' });
    assert.equal(record?.outputTruncated, true);
    assert.deepEqual(readdirSync(captureDir), []);

    // Garbage from the strings read (collected late under load): 40-67 MiB seen; one that kept the output would grow by 400.
    assert.ok(growthMiB < 128, `RSS grew ${growthMiB.toFixed(1)} MiB`);
    // Bounded by how much the writer adds between two reads (5 ms apart at its fastest, more on a loaded machine): here
    // up to about 100 MiB for `tr` at full speed, 172 MiB seen with the suite and more tests running beside it; a file
    // that kept everything would reach 381 MiB.
    assert.ok(fileMost < 256 * MiB, `a capture file reached ${(fileMost / MiB).toFixed(1)} MiB`);
    assert.equal(mostInFlight, 1, 'one store write at a time');
  });
});

describe('OutputBuffer', () => {
  it('coalesces what waits behind a write, cuts it to the newest limit bytes in order, and flags the cut', async () => {
    const batches: OutputBatch[] = [];
    let release: () => void = () => {};
    const buffer = new OutputBuffer(10, async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return true;
    });
    buffer.output('stdout', 'first');
    await new Promise((resolve) => setImmediate(resolve));
    for (const [stream, data] of [['stdout', 'aaaa'], ['stderr', 'bbbb'], ['stdout', 'cccc'], ['stderr', 'é!']] as const) buffer.output(stream, data);
    release();
    await buffer.close();
    assert.deepEqual(batches, [
      { chunks: [{ stream: 'stdout', data: 'first' }], truncated: false },
      { chunks: [{ stream: 'stderr', data: 'bbb' }, { stream: 'stdout', data: 'cccc' }, { stream: 'stderr', data: 'é!' }], truncated: true },
    ]);
  });

  it('flags output lost to a failed write with the next write, or on its own at the end', async () => {
    const batches: OutputBatch[] = [];
    const buffer = new OutputBuffer(100, async (batch) => {
      batches.push(batch);
      return batches.length > 1;
    });
    buffer.output('stdout', 'lost');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    buffer.output('stdout', 'kept');
    await buffer.close();
    assert.deepEqual(batches.map((b) => [b.chunks.map((c) => c.data).join(''), b.truncated]), [['lost', false], ['kept', true]]);

    let failures = 0;
    const failing = new OutputBuffer(100, async () => (failures++, false));
    failing.output('stdout', 'never stored');
    const flagged: OutputBatch[] = [];
    const last = new OutputBuffer(100, async (batch) => (flagged.push(batch), flagged.length > 1));
    last.output('stdout', 'x');
    await last.close();
    assert.deepEqual(flagged, [{ chunks: [{ stream: 'stdout', data: 'x' }], truncated: false }, { chunks: [], truncated: true }]);
    await failing.close();
    assert.equal(failures, 2, 'the output, then the flag once: a failing store does not hold the job');
  });
});
