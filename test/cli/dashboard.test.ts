import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli } from '../support/run-cli';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { waitFor } from '../support/wait-for';

/* The stats, metrics and dashboard commands as users run them: the built CLI, a real store, a real server. */

describe('stats, metrics and dashboard commands', () => {
  let temp: TempStore;
  before(async () => {
    temp = await tempSqliteStore();
    assert.equal((await runCli(temp, ['enqueue', '--id', 'a', '--command', 'true'])).code, 0);
  });
  after(async () => temp?.cleanup());

  it('stats prints the window, depth and run times; --json has the documented fields', async () => {
    const text = await runCli(temp, ['stats', '--since', '30m']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Finished in the last 30m: 0/);
    assert.match(text.stdout, /pending\s+1/);
    const json = JSON.parse((await runCli(temp, ['stats', '--json'])).stdout);
    assert.equal(json.window_seconds, 3600);
    assert.equal(json.jobs.pending, 1);
    assert.deepEqual(json.jobs_capped, []);
    assert.equal(json.finished.success_rate, null);
  });

  it('stats refuses a bad window in one line, exit 2', async () => {
    for (const since of ['soon', '10s', '90d']) {
      const result = await runCli(temp, ['stats', '--since', since]);
      assert.equal(result.code, 2, since);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.match(result.stderr, /^queuectl: --since: /);
    }
  });

  it('metrics prints the Prometheus text', async () => {
    const result = await runCli(temp, ['metrics']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^# TYPE queuectl_jobs gauge$/m);
    assert.match(result.stdout, /^queuectl_jobs\{state="pending"\} 1$/m);
  });

  it('dashboard refuses a non-loopback address without a token, and a short token', async () => {
    const open = await runCli(temp, ['dashboard', '--host', '0.0.0.0', '--port', '0']);
    assert.equal(open.code, 2);
    assert.match(open.stderr, /^queuectl: --host 0\.0\.0\.0 is reachable from other machines: give --token/);
    const short = await runCli(temp, ['dashboard', '--token', 'abc', '--port', '0']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--token: use at least 8 characters/);
  });

  it('dashboard serves the page and the API until SIGTERM', async () => {
    const server = startCli(temp, ['dashboard', '--port', '0']);
    try {
      const url = await waitFor('the dashboard URL', () => /Dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server.output().stdout)?.[1]);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>queuectl dashboard<\/title>/);
      const overview = (await (await fetch(new URL('/api/overview', url))).json()) as { jobs: { pending: number } };
      assert.equal(overview.jobs.pending, 1);
      assert.equal((await fetch(new URL('/assets/app.js', url))).status, 200);
    } finally {
      server.child.kill('SIGTERM');
    }
    assert.equal(await server.exited, 0, server.output().stderr);
  });

  it('dashboard --open hands the browser opener the URL, with the token; without an opener it says where to go', async () => {
    // A stand-in for xdg-open first on PATH: it writes down the URL it was given.
    const bin = join(dirname(temp.location), 'opener-bin');
    const opened = join(dirname(temp.location), 'opened-url');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}.tmp' && mv '${opened}.tmp' '${opened}'\n`, { mode: 0o755 });
    const token = 'open-sesame-42';
    const server = startCli(temp, ['dashboard', '--port', '0', '--token', token, '--open'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    try {
      const url = await waitFor('the dashboard URL', () => /Dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server.output().stdout)?.[1]);
      const given = await waitFor('the opener to be run', () => (existsSync(opened) ? readFileSync(opened, 'utf8') : null));
      assert.equal(given, `${url}?token=${token}`);
      // The URL opened lets the browser in: it sets the token's cookie and sends it on to the page.
      const entry = await fetch(given, { redirect: 'manual' });
      assert.equal(entry.status, 303);
      assert.match(entry.headers.get('set-cookie') ?? '', /^queuectl_dashboard_token=open-sesame-42;/);
    } finally {
      server.child.kill('SIGTERM');
    }
    assert.equal(await server.exited, 0, server.output().stderr);

    // No opener anywhere on PATH (the CLI runs from process.execPath, so it needs none).
    const empty = join(dirname(temp.location), 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const alone = startCli(temp, ['dashboard', '--port', '0', '--open'], { env: { PATH: empty } });
    try {
      const line = await waitFor('the fallback line', () => /^Could not start a browser \(xdg-open\); open (http:\S+)$/m.exec(alone.output().stdout)?.[1]);
      assert.equal((await fetch(line)).status, 200);
    } finally {
      alone.child.kill('SIGTERM');
    }
    assert.equal(await alone.exited, 0, alone.output().stderr);
  });

  it('dashboard on a port in use says so in one line', async () => {
    const first = startCli(temp, ['dashboard', '--port', '0']);
    try {
      const port = await waitFor('the first dashboard', () => /127\.0\.0\.1:(\d+)/.exec(first.output().stdout)?.[1]);
      const second = await runCli(temp, ['dashboard', '--port', port]);
      assert.equal(second.code, 2);
      assert.match(second.stderr, new RegExp(`^queuectl: port ${port} on 127\\.0\\.0\\.1 is in use`));
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });
});
