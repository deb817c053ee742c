import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { CliSession } from '../../support/cli-session';
import { pgSkipReason, postgresBackend, TEST_PG_URL } from '../../support/temp-postgres';

const CONCURRENCY = 8;

/** The local TCP ports of the sockets process `pid` holds (Linux: its fds, matched to /proc/net/tcp by inode). */
function tcpPortsOf(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length > 9 && inodes.has(columns[9]!)) ports.push(parseInt(columns[1]!.split(':').at(-1)!, 16));
    }
  }
  return ports;
}

describe('PostgreSQL: connections of a worker process', { skip: pgSkipReason() }, () => {
  let session: CliSession;
  let admin: Client;
  before(async () => {
    session = await CliSession.open(postgresBackend());
    admin = new Client({ connectionString: TEST_PG_URL });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await session?.close();
  });

  it(`a worker running ${CONCURRENCY} jobs at once holds at most 2 connections (pg_stat_activity)`, async () => {
    const gate = session.gate();
    const gated = Array.from({ length: CONCURRENCY }, (_, i) => `held-${i}`);
    const fast = Array.from({ length: 40 }, (_, i) => `fast-${i}`);
    await session.enqueueMany([...gated.map((id) => ({ id, command: gate.wait, priority: 1 })), ...fast.map((id) => ({ id, command: 'true' }))]);
    const [pid] = await session.startWorkers(1, { concurrency: CONCURRENCY });

    /** The server's connections from the worker's process, by their client ports. */
    const connections = async (): Promise<number> => {
      const ports = tcpPortsOf(pid!);
      const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports]);
      return Number(rows[0]!.n);
    };
    // Sampled all along: the pool opens connections when statements wait for one, and keeps them 30 s once idle.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await connections());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      await session.waitFor(`${CONCURRENCY} jobs to run at once`, async () => (await session.store.listJobs({ states: ['processing'], limit: 20 })).length === CONCURRENCY);
      // Eight reports at once, each claiming the next job, with heartbeats and the services between them.
      gate.open();
      for (const id of [...gated, ...fast]) await session.waitForState(id, 'completed');
    } finally {
      sampling = false;
      await sampler;
    }
    most = Math.max(most, await connections());
    assert.equal(most, 2, 'its statements on one pooled connection, and its LISTEN on another');
  });
});
