import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FinishParams } from '../../src/store/store';
import { EndReports } from '../../src/worker/end-reports';
import type { Claim } from '../../src/worker/job-run';

const end = (jobId: string): FinishParams => ({
  jobId, workerId: 'w1', attempt: 1, result: { outcome: 'exit', exitCode: 0, signal: null, error: null }, next: { state: 'completed', retryDelayMs: 0, countsAttempt: true },
});

/** A write the test settles by hand, recording which ends each write carried. */
function controlledWrites() {
  const writes: { ids: string[]; settle: (reply: { finished: boolean[]; next: Claim[] } | Error) => void }[] = [];
  const write = (finishes: FinishParams[]) =>
    new Promise<{ finished: boolean[]; next: Claim[] }>((resolve, reject) => {
      writes.push({ ids: finishes.map((f) => f.jobId), settle: (reply) => (reply instanceof Error ? reject(reply) : resolve(reply)) });
    });
  return { writes, write };
}

const claimOf = (id: string) => ({ claimed: { job: { id }, attempt: 1 }, sentAt: 0, leaseMs: 1000 }) as unknown as Claim;

describe('EndReports', () => {
  it('writes a lone end at once, and the ends that come meanwhile together in the next write', async () => {
    const { writes, write } = controlledWrites();
    const reports = new EndReports(write);
    const a = reports.write(end('a'));
    assert.deepEqual(writes.map((w) => w.ids), [['a']], 'no wait for company');
    const b = reports.write(end('b'));
    const c = reports.write(end('c'));
    assert.equal(writes.length, 1, 'one write in flight at a time');
    writes[0]!.settle({ finished: [true], next: [claimOf('x')] });
    assert.deepEqual(await a, { finished: true, next: [claimOf('x')] });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes.map((w) => w.ids), [['a'], ['b', 'c']]);
    writes[1]!.settle({ finished: [false, true], next: [claimOf('y'), claimOf('z')] });
    assert.deepEqual([await b, await c], [{ finished: false, next: [claimOf('y'), claimOf('z')] }, { finished: true, next: [] }], 'what was claimed goes to one slot');
    const d = reports.write(end('d'));
    assert.deepEqual(writes.map((w) => w.ids), [['a'], ['b', 'c'], ['d']], 'idle again: the next end goes at once');
    writes[2]!.settle({ finished: [true], next: [] });
    await d;
  });

  it('rejects every end of a failed write, and writes later ends afresh', async () => {
    const { writes, write } = controlledWrites();
    const reports = new EndReports(write);
    const a = reports.write(end('a'));
    const b = reports.write(end('b'));
    const c = reports.write(end('c'));
    writes[0]!.settle({ finished: [true], next: [] });
    await a;
    await new Promise((resolve) => setImmediate(resolve));
    writes[1]!.settle(new Error('store down'));
    await assert.rejects(b, /store down/);
    await assert.rejects(c, /store down/);
    const retried = reports.write(end('b'));
    assert.deepEqual(writes.map((w) => w.ids), [['a'], ['b', 'c'], ['b']]);
    writes[2]!.settle({ finished: [true], next: [] });
    assert.deepEqual(await retried, { finished: true, next: [] });
  });
});
