import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_DURATION_SECONDS } from '../../src/core/limits';
import { backends } from '../support/backends';
import type { ShownJob } from '../support/cli-session';
import { processRuns } from '../support/processes';
import { ChaosRun } from './chaos-run';
import { PROFILE } from './profile';

const MIB = 1024 * 1024;

for (const backend of backends()) {
  describe(`chaos: output, timer edges and daemons (${backend.name}, ${PROFILE.name} profile)`, { skip: backend.skip }, () => {
    it('huge and binary output is kept to its tail; the job ends with its real outcome', async (t) => {
      const run = await ChaosRun.open(t, backend);
      const huge = PROFILE.name === 'long' ? 200 : 24; // MiB: past the 16 MiB at which a capture file is emptied
      assert.equal((await run.enqueue([
        { id: 'huge', command: run.log.command(`head -c ${huge * MIB} /dev/zero | tr '\\0' a; echo; echo tail-marker`), max_retries: 0 },
        { id: 'binary', command: run.log.command('head -c 2000000 /dev/urandom; head -c 100000 /dev/urandom >&2; printf "\\377\\376\\000"'), max_retries: 0 },
        { id: 'both-streams', command: run.log.command(`i=0; while [ $i -lt 2000 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done`), max_retries: 0 },
      ])).code, 0);
      await run.startWorkers(2);
      await run.drain(120_000);
      for (const id of ['huge', 'binary', 'both-streams']) {
        const job = JSON.parse(await run.ok(['show', id, '--json'])) as ShownJob;
        assert.deepEqual([job.state, job.history.map((a) => [a.outcome, a.exit_code])], ['completed', [['exit', 0]]], id);
        assert.ok(job.history[0]!.output_bytes <= MIB + 64 * 1024, `${id}: at most output-limit kept (${job.history[0]!.output_bytes})`);
        const logs = await run.cli(['logs', id]);
        assert.equal(logs.code, 0, `logs ${id}: ${logs.stderr}`);
        assert.equal((await run.cli(['logs', id, '--json'])).code, 0, `logs ${id} --json`);
      }
      const huge0 = JSON.parse(await run.ok(['show', 'huge', '--json'])) as ShownJob;
      assert.equal(huge0.history[0]!.output_truncated, true);
      assert.match((await run.cli(['logs', 'huge'])).stdout, /tail-marker\n$/, 'the tail is what is kept');
      await run.finish(t, 'huge and binary output');
    });

    // setTimeout fires at once for delays past 2^31-1 ms: a timeout of 25 days or more killed a job at its start.
    it('timeouts at the edges of the timer range: tiny ones fire, huge ones never fire early', async (t) => {
      const run = await ChaosRun.open(t, backend);
      const cases: [id: string, timeout: number, body: string, outcome: string][] = [
        ['tiny', 0.001, 'sleep 5', 'timeout'],
        ['sub-second', 0.3, 'sleep 5', 'timeout'],
        ['past-int32-ms', 2 ** 31 / 1000 + 1, 'sleep 0.5', 'exit'],
        ['ten-years', MAX_DURATION_SECONDS, 'sleep 0.5', 'exit'],
      ];
      const specs = cases.map(([id, timeout, body]) => ({ id, timeout, command: run.log.command(body), max_retries: 0 }));
      const enqueued = await run.enqueue(specs);
      assert.equal(enqueued.code, 0, `every timeout in the accepted range is accepted: ${enqueued.stderr}`);
      // Past the bound a timeout is refused at once, in one line, rather than stored to overflow a timer later.
      for (const timeout of [MAX_DURATION_SECONDS + 1, 1e10, 1e308]) {
        const refused = await run.enqueue([{ id: `refused-${timeout}`, timeout, command: 'true' }]);
        assert.equal(refused.code, 2, `timeout ${timeout} is refused`);
        assert.equal(refused.stderr.trim().split('\n').length, 1, `one line for timeout ${timeout}`);
      }
      await run.startWorkers(2);
      await run.drain(60_000);
      for (const [id, timeout, , outcome] of cases) {
        const job = JSON.parse(await run.ok(['show', id, '--json'])) as ShownJob;
        assert.deepEqual(job.history.map((a) => a.outcome), [outcome], `${id} (timeout ${timeout}s) ended by ${outcome}`);
      }
      await run.finish(t, 'timer edges');
    });

    it('a job that leaves a daemon behind ends at once, and the daemon does not outlive it', async (t) => {
      const run = await ChaosRun.open(t, backend);
      const pidFile = run.session.path('daemon.pid');
      assert.equal((await run.enqueue([
        { id: 'daemon', command: run.log.command(`sleep 300 & echo $! > ${pidFile}`), max_retries: 0 },
        { id: 'after-daemon', command: run.log.command('true'), max_retries: 0 },
      ])).code, 0);
      await run.startWorkers(1);
      // One worker: the second job runs only once the first is over, daemon or not.
      await run.drain(20_000);
      const daemon = Number(readFileSync(pidFile, 'utf8'));
      await run.session.waitFor('the daemon to be gone', () => !processRuns(daemon), 10_000);
      await run.finish(t, 'daemon left behind');
    });
  });
}
