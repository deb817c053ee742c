import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { backends } from '../support/backends';
import type { TempStore } from '../support/temp-store';
import { call, claim, enqueue, finish, output, startDashboard, type RunningDashboard } from './fixtures';

/*
 * The dashboard's API against a real server on a random loopback port and a real store: every route, the token rule,
 * the cross-site rule, and escaping (the page is static; what the API returns is data the page sets as text).
 */

for (const backend of backends()) {
  describe(`dashboard API (${backend.name})`, { skip: backend.skip }, () => {
    let temp: TempStore;
    let dash: RunningDashboard;
    before(async () => {
      temp = await backend.make();
      dash = await startDashboard(temp.store);
      const { store } = temp;
      await enqueue(store, { id: 'ok-1', command: 'echo ok' });
      await enqueue(store, { id: 'bad-1', command: 'exit 3' });
      await enqueue(store, { id: 'run-1', command: 'sleep 60' });
      // Due in an hour: it stays pending while the tests claim the others.
      await enqueue(store, { id: 'xss', command: '<script>alert(1)</script>', delay: 3600 });
      await finish(store, await claim(store), 0);
      await finish(store, await claim(store), 3);
      await output(store, await claim(store), 'line one\n');
    });
    after(async () => {
      await dash?.close();
      await temp?.cleanup();
    });

    it('GET /api/overview: counts, finished figures, workers', async () => {
      const { status, json } = await call(dash.url, '/api/overview');
      assert.equal(status, 200);
      assert.deepEqual([json.jobs.pending, json.jobs.processing, json.jobs.completed, json.jobs.dead], [1, 1, 1, 1]);
      assert.deepEqual(json.jobs_capped, []);
      assert.equal(json.finished.succeeded, 1);
      assert.equal(json.finished.failed, 1);
      assert.equal(json.finished.success_rate, 0.5);
      assert.ok(json.finished.duration_ms.max >= 0);
      assert.equal(json.finished.minutes.reduce((n: number, m: { succeeded: number; failed: number }) => n + m.succeeded + m.failed, 0), 2);
      assert.deepEqual(json.finished.by_worker, [{ worker_id: 'w-test', succeeded: 1, failed: 1 }]);
      assert.equal(json.workers[0].id, 'w-test');
      assert.deepEqual(json.workers[0].running_jobs, ['run-1']);
      assert.ok(json.oldest_pending_age_seconds >= 0);
    });

    it('GET /api/jobs: newest first, by state, by search, in pages', async () => {
      const all = await call(dash.url, '/api/jobs');
      assert.deepEqual(all.json.jobs.map((j: { id: string }) => j.id), ['xss', 'run-1', 'bad-1', 'ok-1']);
      const dead = await call(dash.url, '/api/jobs?state=dead');
      assert.deepEqual(dead.json.jobs.map((j: { id: string }) => j.id), ['bad-1']);
      const search = await call(dash.url, '/api/jobs?search=sleep');
      assert.deepEqual(search.json.jobs.map((j: { id: string }) => j.id), ['run-1']);
      const first = await call(dash.url, '/api/jobs?limit=3');
      assert.equal(first.json.jobs.length, 3);
      const second = await call(dash.url, `/api/jobs?limit=3&after=${encodeURIComponent(first.json.next)}`);
      assert.deepEqual(second.json.jobs.map((j: { id: string }) => j.id), ['ok-1']);
      assert.equal(second.json.next, null);
      assert.equal((await call(dash.url, '/api/jobs?state=nope')).status, 400);
      assert.equal((await call(dash.url, '/api/jobs?after=garbage')).status, 400);
    });

    it('GET /api/jobs/:id and /output: fields, attempts, output after a sequence number', async () => {
      const shown = await call(dash.url, '/api/jobs/run-1');
      assert.equal(shown.json.job.state, 'processing');
      assert.equal(shown.json.attempts.length, 1);
      const out = await call(dash.url, '/api/jobs/run-1/output');
      assert.equal(out.json.running, true);
      assert.deepEqual(out.json.chunks.map((c: { data: string }) => c.data), ['line one\n']);
      const later = await call(dash.url, `/api/jobs/run-1/output?attempt=1&after=${out.json.chunks[0].seq}`);
      assert.deepEqual(later.json.chunks, []);
      assert.equal((await call(dash.url, '/api/jobs/nope')).status, 404);
    });

    it('GET /api/dlq, POST /api/dlq/retry, /api/dlq/delete', async () => {
      assert.deepEqual((await call(dash.url, '/api/dlq')).json.jobs.map((j: { id: string }) => j.id), ['bad-1']);
      assert.equal((await call(dash.url, '/api/dlq/retry', { body: { ids: ['ok-1'] } })).status, 409);
      assert.deepEqual((await call(dash.url, '/api/dlq/retry', { body: { ids: ['bad-1'] } })).json.retried, ['bad-1']);
      assert.deepEqual((await call(dash.url, '/api/dlq')).json.jobs, []);
      // Dead again, then deleted with its history.
      await finish(temp.store, await claim(temp.store), 3);
      assert.equal((await call(dash.url, '/api/dlq/delete', { body: { ids: ['ok-1'] } })).status, 409);
      assert.equal((await call(dash.url, '/api/dlq/delete', { body: { ids: ['missing'] } })).status, 404);
      assert.equal((await call(dash.url, '/api/dlq/delete', { body: { ids: [] } })).status, 400);
      assert.deepEqual((await call(dash.url, '/api/dlq/delete', { body: { ids: ['bad-1'] } })).json.deleted, ['bad-1']);
      assert.equal((await call(dash.url, '/api/jobs/bad-1')).status, 404);
    });

    it('POST /api/dlq/retry {all}: every dead job', async () => {
      await enqueue(temp.store, { id: 'bad-2', command: 'exit 4' });
      await finish(temp.store, await claim(temp.store), 4);
      assert.deepEqual((await call(dash.url, '/api/dlq/retry', { body: { all: true } })).json.retried, ['bad-2']);
    });

    it('POST /api/jobs enqueues; POST /api/jobs/:id/cancel cancels; bad input is a 400', async () => {
      const made = await call(dash.url, '/api/jobs', { body: { id: 'made', command: 'true', priority: 2 } });
      assert.equal(made.status, 200);
      assert.equal(made.json.job.priority, 2);
      assert.equal((await call(dash.url, '/api/jobs', { body: { id: 'made', command: 'true' } })).status, 409);
      assert.equal((await call(dash.url, '/api/jobs', { body: { command: '' } })).status, 400);
      const cancelled = await call(dash.url, '/api/jobs/made/cancel', { body: {} });
      assert.deepEqual(cancelled.json.results, [{ id: 'made', action: 'cancelled', state: 'cancelled' }]);
      const running = await call(dash.url, '/api/jobs/run-1/cancel', { body: {} });
      assert.equal(running.json.results[0].action, 'signalled');
    });

    it('GET /api/config: every key, read-only', async () => {
      const { json } = await call(dash.url, '/api/config');
      assert.ok(json.config.some((c: { key: string }) => c.key === 'max-retries'));
      assert.equal((await call(dash.url, '/api/config', { body: {} })).status, 404);
    });

    it('GET /metrics: Prometheus text', async () => {
      const { status, json: text, headers } = await call(dash.url, '/metrics');
      assert.equal(status, 200);
      assert.match(headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      assert.match(text, /^queuectl_jobs\{state="processing"\} 1$/m);
      assert.match(text, /^queuectl_run_duration_seconds_count \d+$/m);
      assert.match(text, /^queuectl_attempts_finished_total\{outcome="exit",result="success"\} 1$/m);
      assert.match(text, /^queuectl_workers_active 1$/m);
      assert.match(text, /^queuectl_oldest_pending_age_seconds [\d.]+$/m);
    });

    it('serves the page and its assets with a strict content security policy; unknown paths are 404', async () => {
      const page = await call(dash.url, '/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      assert.equal((await call(dash.url, '/assets/app.js')).status, 200);
      assert.equal((await call(dash.url, '/assets/../server.ts')).status, 404);
      assert.equal((await call(dash.url, '/api/nothing')).status, 404);
    });

    it('escaping: markup in a command comes back as JSON data, never as HTML', async () => {
      const { json, headers } = await call(dash.url, '/api/jobs/xss');
      assert.equal(json.job.command, '<script>alert(1)</script>');
      assert.match(headers.get('content-type')!, /^application\/json/);
      assert.match(headers.get('x-content-type-options')!, /nosniff/);
    });

    it('cross-site rule: a POST without the header, as a form, or from another origin changes nothing', async () => {
      const refused = [
        await call(dash.url, '/api/jobs', { body: { id: 'csrf-1', command: 'true' }, headers: { 'x-queuectl': '' } }),
        await call(dash.url, '/api/jobs', { body: { id: 'csrf-2', command: 'true' }, headers: { 'content-type': 'text/plain' } }),
        await call(dash.url, '/api/jobs', { body: { id: 'csrf-3', command: 'true' }, headers: { origin: 'http://evil.example' } }),
        await call(dash.url, '/api/jobs', { body: { id: 'csrf-4', command: 'true' }, headers: { 'sec-fetch-site': 'cross-site' } }),
      ];
      assert.deepEqual(refused.map((r) => r.status), [403, 403, 403, 403]);
      for (const id of ['csrf-1', 'csrf-2', 'csrf-3', 'csrf-4']) assert.equal((await call(dash.url, `/api/jobs/${id}`)).status, 404);
      assert.equal((await call(dash.url, '/api/jobs', { body: { id: 'same-origin', command: 'true' }, headers: { origin: dash.url.replace(/\/$/, '') } })).status, 200);
      const put = await fetch(new URL('/api/jobs', dash.url), { method: 'PUT' });
      assert.equal(put.status, 405);
    });

    it('a request addressed to a non-loopback host name is refused without a token (DNS rebinding)', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(new URL('/api/overview', dash.url), { headers: { host: 'attacker.example:8420' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 421);
    });
  });
}

describe('dashboard token rule', () => {
  const backend = backends()[0]!;
  let temp: TempStore;
  let dash: RunningDashboard;
  const token = 'correct-horse-battery';
  before(async () => {
    temp = await backend.make();
    dash = await startDashboard(temp.store, { token });
  });
  after(async () => {
    await dash?.close();
    await temp?.cleanup();
  });

  it('every request needs the token: none or a wrong one is 401, for the API, /metrics and the page', async () => {
    for (const path of ['/api/overview', '/metrics', '/', '/assets/app.js']) assert.equal((await call(dash.url, path)).status, 401, path);
    assert.equal((await call(dash.url, '/api/overview', { headers: { authorization: 'Bearer wrong-token-x' } })).status, 401);
    assert.equal((await call(dash.url, '/api/jobs', { body: { command: 'true' } })).status, 401);
  });

  it('a Bearer header or the cookie set by /?token=T lets requests through', async () => {
    assert.equal((await call(dash.url, '/api/overview', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const res = await fetch(new URL(`/?token=${token}`, dash.url), { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    assert.match(res.headers.get('set-cookie')!, /HttpOnly; SameSite=Strict/);
    assert.equal((await call(dash.url, '/api/overview', { headers: { cookie } })).status, 200);
    assert.equal((await call(dash.url, '/', { headers: { cookie } })).status, 200);
    // A cross-site POST is refused even with the cookie.
    assert.equal((await call(dash.url, '/api/jobs', { body: { command: 'true' }, headers: { cookie, origin: 'http://evil.example' } })).status, 403);
  });
});
