import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { backends } from '../support/backends';
import { CliSession } from '../support/cli-session';

for (const backend of backends()) {
  describe(`a job that finished as its worker died (${backend.name})`, { skip: backend.skip, concurrency: true }, () => {

    for (const exitCode of [0, 3]) {
      it(`gets its real result (exit ${exitCode}) and its last output, and is not run again for the crash`, async (t) => {
        const s = await CliSession.forTest(t, backend);
        await s.configSet('lease-timeout', '5');
        const ran = s.path('ran');
        // Workers first: a job that kills its worker while `worker start` still waits for both to register would read
        // as a worker that never started.
        await s.startWorkers(2);
        // The shell's parent is the worker running it: the first attempt kills it, then ends on its own.
        await s.enqueue({
          id: 'a/b:c',
          command: `echo run >> ${ran}; echo before; if [ "$QUEUECTL_ATTEMPT" = 1 ]; then kill -9 $PPID; fi; echo after >&2; exit ${exitCode}`,
          max_retries: exitCode === 0 ? 3 : 0,
        });
        const job = await s.waitForState('a/b:c', exitCode === 0 ? 'completed' : 'dead');

        const shown = await s.show('a/b:c');
        assert.deepEqual(shown.history.map((a) => [a.outcome, a.exit_code]), [['exit', exitCode]], JSON.stringify(shown.history));
        assert.equal(job.attempts, 1);
        const logs = await s.run(['logs', 'a/b:c']);
        assert.deepEqual([logs.stdout, logs.stderr], ['before\n', 'after\n'], 'the output the dead worker never read');
        assert.equal(readFileSync(ran, 'utf8'), 'run\n', 'ran once');
        // The dead worker's capture directory goes once nothing is left to reap.
        const deadWorker = shown.history[0]!.worker_id;
        await s.waitFor('the dead worker to be forgotten with its capture directory', async () => {
          const workers = await s.temp.store.listWorkers({ staleAfterMs: 60_000 });
          return !workers.some((w) => w.id === deadWorker) && !captureDirectoryExists(deadWorker);
        });
      });
    }
  });
}

function captureDirectoryExists(workerId: string): boolean {
  for (const root of [process.env.XDG_RUNTIME_DIR, process.env.TMPDIR, '/dev/shm', '/tmp']) {
    if (root && existsSync(root) && readdirSync(root).includes(`queuectl-${workerId}`)) return true;
  }
  return false;
}
