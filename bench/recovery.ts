import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../src/core/config';
import { isProcessAlive } from '../src/platform/process-info';
import { median, progress, runCli, waitUntil, type Cleanup } from './harness';
import { createTarget, killRecordedJobs, startWorkers, workerLogTail } from './targets';

export interface RecoveryResult {
  samples: number;
  /** kill -9 of the busy worker -> the job's second attempt started (its process wrote its timestamp). */
  medianMs: number;
  maxMs: number;
  /** Parts of each recovery: kill -> attempt 1 recorded worker_lost; that -> attempt 2 claimed; claim -> process ran. */
  parts: { detectMs: number; backoffAndClaimMs: number; spawnMs: number }[];
  recoveryMs: number[];
  config: { leaseTimeoutSeconds: number; backoffBase: number; maxRetries: number; retryDelayMs: number };
}

/** Lines of `date +%s%N` written by the job's attempts, as epoch ms. */
function starts(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => Number(line) / 1e6);
  } catch {
    return [];
  }
}

/**
 * Crash recovery with the default config (lease-timeout 30 s, backoff-base 2, max-retries 3): two workers, one runs
 * a `sleep 30` job and is killed with SIGKILL; the other must notice that the process is gone on this host (without
 * waiting for the lease to run out), record the lost attempt and run the job again after its backoff.
 */
export async function measureRecovery(params: { samples: number; cleanup: Cleanup }): Promise<RecoveryResult> {
  const results: RecoveryResult['recoveryMs'] = [];
  const parts: RecoveryResult['parts'] = [];
  let config: RecoveryResult['config'] | null = null;
  for (let i = 0; i < params.samples; i++) {
    const target = createTarget('sqlite', 'recovery', params.cleanup);
    const startsFile = join(target.dir, 'starts');
    const pidsFile = join(target.dir, 'pids');
    params.cleanup.defer('kill leftover sleep 30 jobs', () => killRecordedJobs(pidsFile, 'sleep'));
    const store = await target.open();
    const effective = resolveConfig(await store.getConfig());
    const workers = await startWorkers(target, 2, params.cleanup);
    const command = `date +%s%N >> ${startsFile}; echo $$ >> ${pidsFile}; exec sleep 30`;
    const id = (await runCli(target.env, ['enqueue', JSON.stringify({ command })])).stdout.trim();
    await waitUntil(`the first attempt of ${id} to start; worker log:\n${workerLogTail(target)}`, () => starts(startsFile).length >= 1, 5);

    const job = await store.getJob({ id });
    const owner = (await store.listWorkers({ staleAfterMs: 60_000 })).find((w) => w.id === job?.workerId);
    if (!owner || !workers.pids.includes(owner.pid) || !isProcessAlive(owner.pid, owner.pidStart)) {
      throw new Error(`recovery: job ${id} is not held by a worker this bench started`);
    }
    const killedAt = Date.now();
    process.kill(owner.pid, 'SIGKILL');
    await waitUntil(`the second attempt of ${id}; worker log:\n${workerLogTail(target)}`, () => starts(startsFile).length >= 2, 5, 60_000);
    const secondStart = starts(startsFile)[1]!;
    results.push(secondStart - killedAt);

    const attempts = await store.listAttempts({ jobId: id });
    const lost = attempts[0]!;
    const retry = attempts[1]!;
    if (lost.outcome !== 'worker_lost') throw new Error(`recovery: attempt 1 of ${id} ended ${lost.outcome}, not worker_lost`);
    parts.push({ detectMs: lost.finishedAt! - killedAt, backoffAndClaimMs: retry.startedAt - lost.finishedAt!, spawnMs: secondStart - retry.startedAt });
    config ??= {
      leaseTimeoutSeconds: effective['lease-timeout'],
      backoffBase: effective['backoff-base'],
      maxRetries: job!.maxRetries,
      retryDelayMs: Math.min(effective['backoff-base'] ** 1, effective['backoff-max']) * 1000,
    };
    progress(`recovery: sample ${i + 1}/${params.samples}: ${Math.round(secondStart - killedAt)} ms`);
    // Cancel the second attempt so the surviving worker stops at once rather than after the job's 30 s.
    await runCli(target.env, ['cancel', id]);
    await waitUntil(`job ${id} to end cancelled`, async () => (await store.getJob({ id }))?.state === 'cancelled', 20, 10_000);
    await workers.stop();
  }
  return { samples: results.length, medianMs: median(results), maxMs: Math.max(...results), parts, recoveryMs: results, config: config! };
}
