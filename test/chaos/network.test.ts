import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrivateServer, privateServerSkipReason } from '../cli/postgres/private-server';
import { backends, type Backend } from '../support/backends';
import { TcpProxy } from '../support/tcp-proxy';
import { pgSkipReason, TEST_PG_URL } from '../support/temp-postgres';
import { ChaosRun } from './chaos-run';
import { PROFILE } from './profile';
import { tempPrivatePostgresStore } from './private-store';

const LEASE_SECONDS = 2;
/** The proxy's faults' pace: a schedule, not a wait for a condition. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The URL `url` with its host and port replaced by the proxy's. */
function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
}

describe(`chaos: the network between a worker and PostgreSQL (${PROFILE.name} profile)`, { skip: pgSkipReason() }, () => {
  const backend = backends().find((b) => b.name === 'postgres')!;

  it('a black hole longer than the lease, then connection resets, on one worker of another host', async (t) => {
    const run = await ChaosRun.open(t, backend);
    const target = new URL(TEST_PG_URL);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    t.after(() => proxy.close());
    await run.ok(['config', 'set', 'lease-timeout', String(LEASE_SECONDS)]);
    await run.ok(['config', 'set', 'backoff-base', '1']);
    // Jobs that outlast the lease and the retry's backoff: a cut-off worker's job still runs when the job is retried.
    assert.equal((await run.enqueue(run.jobs({ prefix: 'net', count: Math.ceil(PROFILE.networkJobs / 8), sleepSeconds: LEASE_SECONDS * 3 }))).code, 0);
    // Another host: the direct worker cannot kill what the cut-off one runs, so only its own deadline keeps runs apart.
    await run.startWorkers(1, { db: throughProxy(TEST_PG_URL, proxy), env: { QUEUECTL_HOST: 'behind-proxy' } });
    await run.startWorkers(1, { env: { QUEUECTL_HOST: 'direct' } });

    for (let fault = 0; fault < PROFILE.networkFaults; fault++) {
      await run.session.waitFor('the proxied worker to hold a job', async () => {
        const leases = await run.session.temp.store.listLeases();
        return leases.some((lease) => lease.host === 'behind-proxy');
      });
      proxy.blackHole();
      run.faults++;
      await sleep(LEASE_SECONDS * 2000);
      proxy.forward();
      await sleep(500);
      proxy.resetAll();
      run.faults++;
    }
    await run.drain(120_000);
    await run.finish(t, 'proxy: black hole and resets');
  });
});

describe(`chaos: PostgreSQL restarts under load (${PROFILE.name} profile)`, { skip: privateServerSkipReason() }, () => {
  // A job that ends while the server is down cannot be reported within its lease: it is recorded worker_lost.
  it(`${PROFILE.networkJobs} jobs drain through ${PROFILE.networkFaults} restarts of a throwaway cluster`, async (t) => {
    const server = await PrivateServer.create();
    const backend: Backend = { name: 'postgres (private)', make: () => tempPrivatePostgresStore(server.url), skip: false };
    let run: ChaosRun;
    try {
      run = await ChaosRun.open(t, backend);
    } finally {
      // After the run's own clean-up (hooks run in the order they were added), which needs the server up.
      t.after(() => server.destroy());
    }
    await run.ok(['config', 'set', 'lease-timeout', '5']);
    await run.ok(['config', 'set', 'backoff-base', '1']);
    assert.equal((await run.enqueue(run.jobs({ prefix: 'restart', count: PROFILE.networkJobs, sleepSeconds: 0.1 }))).code, 0);
    await run.startWorkers(3);
    for (let fault = 0; fault < PROFILE.networkFaults; fault++) {
      await run.session.waitFor('a job to be running', async () => (await run.session.temp.store.listLeases()).length > 0);
      await server.stop('fast');
      run.faults++;
      try {
        await sleep(1000);
      } finally {
        await server.start();
      }
    }
    await run.drain(120_000);
    await run.finish(t, 'PostgreSQL restart');
  });
});
