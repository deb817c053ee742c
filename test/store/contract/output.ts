import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { newJob, claimNext } from './job-builders';
import type { ContractIt } from './store-under-test';

/** An attempt's output: appended in order, bounded to the newest bytes, marked truncated. */
export function outputContract(it: ContractIt): void {
  describe('output', () => {
    it('appends output and reads it back after a sequence number', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const { attempt } = (await claimNext(store))!;
      await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'one\n' }, { stream: 'stderr', data: 'oops\n' }], limitBytes: 1_000 });
      await store.appendOutput({ jobId: 'a', attempt, chunks: [], limitBytes: 1_000 });
      await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'two\n' }], limitBytes: 1_000 });
      const all = await store.readOutput({ jobId: 'a', attempt });
      assert.deepEqual(all.map((c) => [c.stream, c.data]), [['stdout', 'one\n'], ['stderr', 'oops\n'], ['stdout', 'two\n']]);
      assert.ok(all.every((c, i) => i === 0 || c.seq > all[i - 1]!.seq), 'sequence numbers increase');
      assert.deepEqual((await store.readOutput({ jobId: 'a', attempt, afterSeq: all[0]!.seq })).map((c) => c.data), ['oops\n', 'two\n']);
      assert.deepEqual(await store.readOutput({ jobId: 'a', attempt, afterSeq: all[2]!.seq }), []);
      assert.deepEqual(await store.readOutput({ jobId: 'a', attempt: attempt + 1 }), []);
      const [record] = await store.listAttempts({ jobId: 'a' });
      assert.deepEqual([record?.outputBytes, record?.outputTruncated], [13, false]);
    });

    it('keeps only the newest limitBytes and marks the attempt truncated', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const { attempt } = (await claimNext(store))!;
      await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'aaaa' }, { stream: 'stdout', data: 'bbbb' }], limitBytes: 10 });
      assert.equal((await store.listAttempts({ jobId: 'a' }))[0]?.outputTruncated, false);
      await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stderr', data: 'cccc' }, { stream: 'stdout', data: 'dddd' }], limitBytes: 10 });
      const kept = await store.readOutput({ jobId: 'a', attempt });
      assert.equal(kept.map((c) => c.data).join(''), 'bbccccdddd');
      assert.deepEqual(kept.map((c) => c.stream), ['stdout', 'stderr', 'stdout']);
      const [record] = await store.listAttempts({ jobId: 'a' });
      assert.deepEqual([record?.outputBytes, record?.outputTruncated], [10, true]);
    });

    it('never keeps half a character when trimming multi-byte output', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a')], ifNotExists: false });
      const { attempt } = (await claimNext(store))!;
      await store.appendOutput({ jobId: 'a', attempt, chunks: [{ stream: 'stdout', data: 'ééé' }], limitBytes: 3 });
      const kept = (await store.readOutput({ jobId: 'a', attempt })).map((c) => c.data).join('');
      assert.equal(kept, 'é');
      const [record] = await store.listAttempts({ jobId: 'a' });
      assert.deepEqual([record?.outputBytes, record?.outputTruncated], [Buffer.byteLength(kept), true]);
    });

    it('marks the attempt truncated when output was lost before it came, with or without chunks', async ({ store }) => {
      await store.enqueue({ jobs: [newJob('a'), newJob('b')], ifNotExists: false });
      const a = (await claimNext(store))!;
      await store.appendOutput({ jobId: 'a', attempt: a.attempt, chunks: [{ stream: 'stdout', data: 'tail\n' }], limitBytes: 1_000, truncated: true });
      const b = (await claimNext(store))!;
      await store.appendOutput({ jobId: 'b', attempt: b.attempt, chunks: [{ stream: 'stdout', data: 'kept\n' }], limitBytes: 1_000 });
      await store.appendOutput({ jobId: 'b', attempt: b.attempt, chunks: [], limitBytes: 1_000, truncated: true });
      for (const [id, data] of [['a', 'tail\n'], ['b', 'kept\n']] as const) {
        const attempt = id === 'a' ? a.attempt : b.attempt;
        assert.equal((await store.readOutput({ jobId: id, attempt })).map((c) => c.data).join(''), data);
        const [record] = await store.listAttempts({ jobId: id });
        assert.deepEqual([record?.outputBytes, record?.outputTruncated], [5, true], id);
      }
    });
  });
}
