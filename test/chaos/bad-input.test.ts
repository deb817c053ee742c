import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backends } from '../support/backends';
import type { JobJson, ShownJob } from '../support/cli-session';
import { ChaosRun } from './chaos-run';
import { enqueueInput, type EnqueueInput } from './enqueue-inputs';
import { PROFILE, reportFigures } from './profile';

/**
 * The enqueue contract under fuzzing: whatever the JSON or the flags, the CLI either enqueues a job that can run
 * (exit 0, listed, `show --json` works, and a worker runs it to an end if it is due) or refuses it with one stderr
 * line and exit 2 (1 for an id that exists or a dependency that does not) and the store unchanged.
 */
for (const backend of backends()) {
  describe(`chaos: bad-input fuzz of enqueue (${backend.name}, ${PROFILE.name} profile)`, { skip: backend.skip }, () => {
    it(`${PROFILE.fuzzJson} JSON jobs and ${PROFILE.fuzzFlags} flag sets: enqueued and runnable, or refused cleanly`, async (t) => {
      const run = await ChaosRun.open(t, backend);
      // An existing job, so duplicate ids and dependencies have something to meet.
      await run.ok(['enqueue', '--id', 'existing', '--command', 'true']);
      // What the store holds, read in-process: a refused input must leave it exactly so. (The CLI's own list and
      // status run over every accepted job at the end: no fuzzed job may break a read command.)
      const storeListing = async () => JSON.stringify(await run.session.temp.store.listJobs({ limit: 100_000 }));
      let listing = await storeListing();
      const accepted: string[] = [];
      const refusals: string[] = [];
      let tried = 0;

      const property = fc.asyncProperty(enqueueInput(run.session.dir, { json: PROFILE.fuzzJson, flags: PROFILE.fuzzFlags }), async (input: EnqueueInput) => {
        tried++;
        const result = await run.cli(input.args, { input: input.stdin });
        const context = `${input.describe}: exit ${result.code}, stdout ${JSON.stringify(result.stdout.slice(0, 200))}, stderr ${JSON.stringify(result.stderr.slice(0, 400))}`;
        assert.ok(!/internal error|\n\s+at /.test(result.stderr), `no internal error or stack trace: ${context}`);
        if (result.code === 0) {
          const printed = input.json ? (JSON.parse(result.stdout) as JobJson | JobJson[]) : null;
          const id = printed === null ? result.stdout.trim() : Array.isArray(printed) ? printed[0]!.id : printed.id;
          const shown = await run.cli(['show', id, '--json']);
          assert.equal(shown.code, 0, `show --json works for an accepted job: ${context}; ${shown.stderr}`);
          const job = JSON.parse(shown.stdout) as ShownJob;
          assert.ok(['pending', 'waiting'].includes(job.state), `a new job waits to run: ${job.state}; ${context}`);
          assert.ok(!Number.isNaN(Date.parse(job.run_at)), `its run_at is a real time: ${job.run_at}; ${context}`);
          listing = await storeListing();
          assert.ok((JSON.parse(listing) as { id: string }[]).some((stored) => stored.id === id), `the job is in the store: ${context}`);
          accepted.push(id);
          run.acknowledged.add(id);
          return;
        }
        const refusedAsConflict = result.code === 1 && /already exists|no job|unknown|not found|does not exist/i.test(result.stderr);
        assert.ok(result.code === 2 || refusedAsConflict, `refused with exit 2: ${context}`);
        assert.equal(result.stdout, '', `nothing on stdout: ${context}`);
        assert.ok(result.stderr.endsWith('\n'), `a whole line: ${context}`);
        assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one stderr line: ${context}`);
        assert.equal(await storeListing(), listing, `the store is unchanged: ${context}`);
        refusals.push(result.stderr.trim());
      });
      // fc.check, not fc.assert: its report would print the whole input, tens of kilobytes; ours names it briefly.
      const details = await fc.check(property, { numRuns: PROFILE.fuzzJson + PROFILE.fuzzFlags, endOnFailure: true });
      t.diagnostic(`${tried} inputs tried, ${accepted.length} accepted, ${refusals.length} refused`);
      if (details.failed) assert.fail(`input ${details.numRuns} (seed ${details.seed}) broke the contract: ${(details.errorInstance as Error | null)?.message}`);
      for (const args of [['list', '--json'], ['status'], ['status', '--json'], ['list']]) await run.ok(args);

      // Every due accepted job is run by a worker to an end of its first attempt, and no worker dies of one.
      await run.startWorkers(2);
      const due = (JSON.parse(await run.ok(['list', '--json', '--limit', '100000'])) as JobJson[])
        .filter((job) => accepted.includes(job.id) && job.state === 'pending' && Date.parse(job.run_at) <= Date.now());
      await run.session.waitFor(`${due.length} due fuzzed jobs to run once`, async () => {
        for (const job of due) {
          const attempts = await run.session.temp.store.listAttempts({ jobId: job.id });
          if (!attempts.some((attempt) => attempt.finishedAt !== null)) return false;
        }
        return true;
      }, 60_000);
      const crashes = run.crashes();
      reportFigures((message) => t.diagnostic(message), {
        scenario: 'bad-input fuzz', backend: backend.name, jobs: accepted.length, faults: 0, lost: 0, overlapping: 0, stuck: 0,
        misrecorded: 0, badInputs: tried, crashes: crashes.length, seconds: 0,
      });
      assert.deepEqual(crashes, [], 'no worker died of a fuzzed job');
    });
  });
}
