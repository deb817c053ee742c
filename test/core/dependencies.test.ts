import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { planEnqueue } from '../../src/core/dependencies';
import { ConflictError, UsageError } from '../../src/core/errors';
import type { JobState } from '../../src/core/job';
import type { NewJob } from '../../src/core/job-spec';

function job(id: string, dependsOn: string[] = []): NewJob {
  return { id, command: 'true', queue: 'default', maxRetries: null, priority: 0, runAt: null, delayMs: 0, timeout: null, cwd: null, env: null, dependsOn };
}

/** A store holding these jobs. */
function existing(states: Record<string, JobState>): (id: string) => JobState | undefined {
  return (id) => states[id];
}

const summary = (plan: ReturnType<typeof planEnqueue>) => plan.map((p) => [p.job.id, p.state, p.reason]);

describe('planEnqueue', () => {
  it('keeps a batch without dependencies in order, all pending, without looking anything up', () => {
    const plan = planEnqueue([job('a'), job('b'), job('c')], () => assert.fail('no lookups needed'));
    assert.deepEqual(summary(plan), [['a', 'pending', null], ['b', 'pending', null], ['c', 'pending', null]]);
  });

  it('orders every job after the batch jobs it depends on', () => {
    const batch = [job('deploy', ['test', 'build']), job('test', ['build']), job('lint'), job('build', ['fetch']), job('fetch')];
    const plan = planEnqueue(batch, existing({}));
    const order = plan.map((p) => p.job.id);
    assert.deepEqual([...order].sort(), ['build', 'deploy', 'fetch', 'lint', 'test']);
    for (const { job: planned } of plan) {
      for (const dep of planned.dependsOn) assert.ok(order.indexOf(dep) < order.indexOf(planned.id), `${dep} before ${planned.id}`);
    }
    assert.deepEqual(Object.fromEntries(plan.map((p) => [p.job.id, p.state])), {
      fetch: 'pending', lint: 'pending', build: 'waiting', test: 'waiting', deploy: 'waiting',
    });
  });

  it('starts a job by the state of existing dependencies', () => {
    const stateOf = existing({ done: 'completed', queued: 'pending', running: 'processing', retrying: 'failed', blocked: 'waiting', gone: 'dead', off: 'cancelled' });
    const batch = [
      job('after-done', ['done']),
      job('after-queued', ['done', 'queued']),
      job('after-running', ['running']),
      job('after-retrying', ['retrying']),
      job('after-blocked', ['blocked']),
      job('after-gone', ['done', 'queued', 'gone']),
      job('after-off', ['off']),
    ];
    assert.deepEqual(summary(planEnqueue(batch, stateOf)), [
      ['after-done', 'pending', null],
      ['after-queued', 'waiting', null],
      ['after-running', 'waiting', null],
      ['after-retrying', 'waiting', null],
      ['after-blocked', 'waiting', null],
      ['after-gone', 'cancelled', "dependency 'gone' ended dead"],
      ['after-off', 'cancelled', "dependency 'off' ended cancelled"],
    ]);
  });

  it('cancels batch jobs downstream of one that starts cancelled', () => {
    const plan = planEnqueue([job('c', ['b']), job('b', ['a']), job('a', ['gone'])], existing({ gone: 'dead' }));
    assert.deepEqual(summary(plan), [
      ['a', 'cancelled', "dependency 'gone' ended dead"],
      ['b', 'cancelled', "dependency 'a' ended cancelled"],
      ['c', 'cancelled', "dependency 'b' ended cancelled"],
    ]);
  });

  it('rejects a dependency that is neither in the batch nor in the store', () => {
    assert.throws(
      () => planEnqueue([job('a'), job('b', ['a', 'missing'])], existing({})),
      (err: unknown) => err instanceof UsageError && err.message === "depends_on: job 'b' depends on unknown job 'missing'; enqueue it first",
    );
  });

  it('rejects a cycle, naming its path', () => {
    const cycle = (batch: NewJob[]) => () => planEnqueue(batch, existing({ root: 'completed' }));
    assert.throws(cycle([job('a', ['b']), job('b', ['a'])]), (err: unknown) => err instanceof UsageError && err.message.includes('dependency cycle a -> b -> a'));
    assert.throws(
      cycle([job('x', ['root', 'z']), job('y', ['x']), job('z', ['y']), job('free')]),
      (err: unknown) => err instanceof UsageError && err.message.includes('dependency cycle x -> z -> y -> x'),
    );
    assert.throws(cycle([job('self', ['self'])]), (err: unknown) => err instanceof UsageError && err.message.includes('self -> self'));
  });

  it('looks up only dependencies outside the batch', () => {
    const asked: string[] = [];
    planEnqueue([job('b', ['a', 'old']), job('a')], (id) => {
      asked.push(id);
      return 'completed';
    });
    assert.deepEqual([...new Set(asked)], ['old']);
  });
});

test('planEnqueue rejects an id repeated within the batch', () => {
  assert.throws(
    () => planEnqueue([job('a'), job('b'), job('a')], () => undefined),
    (err: unknown) => err instanceof ConflictError && /'a' appears twice/.test((err as Error).message),
  );
});
