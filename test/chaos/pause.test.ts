import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backends } from '../support/backends';
import { processRuns, signalQuietly } from '../support/processes';
import { ChaosRun } from './chaos-run';
import { PROFILE } from './profile';

const LEASE_SECONDS = 2;

/**
 * A worker frozen with SIGSTOP for longer than its lease, then thawed with SIGCONT: its job is recovered by a peer
 * and run again, never while the frozen worker's run of it still goes on. On the same host the peer can kill the old
 * run; with another QUEUECTL_HOST it cannot, and only the frozen worker's own deadline (a watchdog that outlives the
 * pause) can stop that run in time.
 */
for (const backend of backends()) {
  describe(`chaos: SIGSTOP/SIGCONT of a worker longer than its lease (${backend.name}, ${PROFILE.name} profile)`, { skip: backend.skip }, () => {
    for (const where of ['same host', 'another host'] as const) {
      // Same host: a job that ends while its worker is frozen is recorded worker_lost (its real outcome is lost).
      it(`a worker paused mid-job on ${where === 'same host' ? 'the same host' : 'another QUEUECTL_HOST'}`, async (t) => {
        const run = await ChaosRun.open(t, backend);
        await run.ok(['config', 'set', 'lease-timeout', String(LEASE_SECONDS)]);
        await run.ok(['config', 'set', 'backoff-base', '1']);
        // Jobs that outlast the lease: a paused worker's job still runs when the lease runs out.
        assert.equal((await run.enqueue(run.jobs({ prefix: 'pause', count: PROFILE.pauseJobs, sleepSeconds: 4 }))).code, 0);
        const env = where === 'another host' ? { QUEUECTL_HOST: 'frozen-host' } : undefined;
        const [victim] = await run.startWorkers(1, { env });
        await run.startWorkers(1, { env: where === 'another host' ? { QUEUECTL_HOST: 'peer-host' } : undefined });

        for (let pause = 0; pause < PROFILE.pauses; pause++) {
          await run.session.waitFor('the victim to hold a job', async () => {
            const leases = await run.session.temp.store.listLeases();
            return leases.some((lease) => lease.worker?.pid === victim && lease.pid !== null);
          });
          const held = (await run.session.temp.store.listLeases()).find((lease) => lease.worker?.pid === victim)!;
          signalQuietly(victim!, 'SIGSTOP');
          run.faults++;
          try {
            // Frozen until a peer has recovered its job: the lease ran out while it could do nothing.
            await run.session.waitFor(`job ${held.jobId} to be recovered from the frozen worker`, async () => {
              const attempts = await run.session.temp.store.listAttempts({ jobId: held.jobId });
              return attempts.find((attempt) => attempt.attempt === held.attempt)?.outcome === 'worker_lost';
            }, 20_000);
          } finally {
            signalQuietly(victim!, 'SIGCONT');
          }
        }
        await run.drain(60_000);
        assert.ok(processRuns(victim!), 'the paused worker lives on after SIGCONT');
        await run.finish(t, `SIGSTOP a worker past its lease (${where})`);
      });
    }
  });
}
