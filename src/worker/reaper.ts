import { backoffPolicy, type Config } from '../core/config';
import type { JobState } from '../core/job';
import { workerLiveness } from '../core/worker-liveness';
import { describeResult, planAfterAttempt, type AttemptResult } from '../core/transitions';
import type { LeaseRecord, Store } from '../store/store';
import { attemptFileName, readExitStatus, removeAttemptFiles, salvageOutput } from './attempt-files';
import { findCaptureDirectory, removeCaptureDirectory } from './output-capture';
import { findAttemptProcessGroups, isProcessAlive, processGroupExists, signalProcessGroup } from '../platform/process-info';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Recovers jobs whose worker is gone. A job is lost when its lease expired (by the store's clock), or at once when
 * its worker is registered on this host and that process no longer exists; a job of this worker's own only when its
 * lease expired and it is not the one in hand. Before the job may run again its old
 * process group is killed when it is on this host; on another host its own worker kills it when it cannot renew the
 * lease.
 * When the worker died on this host but the command had finished (its shell wrote its exit status: see the runner),
 * the attempt gets its real result and what was left of its output, rather than being run again.
 * Returns the ids recovered. Safe to run from every worker at once: the store's guarded finish lets one win.
 */
export async function reapLostJobs(params: {
  store: Store;
  host: string;
  selfId: string;
  /** True for a job this worker has in hand: its own lease, which its heartbeat renews. */
  inHand: (jobId: string) => boolean;
  /** True for a job of this worker's whose result it still has to write: it is not lost either. */
  reporting?: (jobId: string) => boolean;
  config: Config;
  log: (line: string) => void;
  /** Told of each recovered job and the state it moved to (a recovery can end a job: dead). */
  onJobEnded?: (jobId: string, state: JobState) => void;
}): Promise<string[]> {
  const { store, host, selfId, config, log } = params;
  const recovered: string[] = [];
  for (const lease of await store.listLeases()) {
    // A lease of our own is left alone while we hold its job. One we dropped (its report could not be written before
    // the lease ran out) is recovered like anyone's once it expired: nobody else renews it, nor would take it sooner.
    if (lease.workerId === selfId && (params.inHand(lease.jobId) || !lease.leaseExpired || params.reporting?.(lease.jobId))) continue;
    const onThisHost = lease.host === host;
    // Only a registration shows which process to check. A missing one proves nothing: peers remove registrations
    // whose heartbeat looks stale, which a live worker's does after a store outage, so then the lease decides.
    const workerGoneHere =
      onThisHost && lease.worker !== null && lease.worker.host === host && !isProcessAlive(lease.worker.pid, lease.worker.pidStart);
    if (!lease.leaseExpired && !workerGoneHere) continue;

    // Killed first: what it left running dies, and the exit status, if any, is final.
    if (onThisHost) await killAttemptProcesses(lease);
    // Only a worker known gone (or one whose registration is gone) is read from: a live one reads its own files.
    const finished = onThisHost && (workerGoneHere || lease.worker === null) ? findFinishedAttempt(lease) : null;
    const reason = lease.leaseExpired ? `worker lost: lease of ${lease.workerId} expired` : `worker lost: ${lease.workerId} (pid ${lease.worker?.pid ?? '?'}) exited`;
    const result: AttemptResult = finished
      ? { outcome: 'exit', exitCode: finished.exitCode, signal: null, error: describeResult({ outcome: 'exit', exitCode: finished.exitCode, signal: null }) }
      : { outcome: 'worker_lost', exitCode: null, signal: null, error: reason };
    const next = planAfterAttempt({ attempts: lease.attempts, maxRetries: lease.maxRetries }, result, backoffPolicy(config));
    if (await store.finishAttempt({ jobId: lease.jobId, workerId: lease.workerId, attempt: lease.attempt, result, next })) {
      if (finished) await finished.saveOutput(store, config['output-limit']);
      log(finished
        ? `recovered job ${lease.jobId}: its worker ${lease.workerId} died after it exited with code ${finished.exitCode}; now ${next.state}`
        : `recovered job ${lease.jobId} (${reason}); now ${next.state}`);
      params.onJobEnded?.(lease.jobId, next.state);
      recovered.push(lease.jobId);
    }
  }
  return recovered;
}

/**
 * A lost attempt whose command had exited, by the exit status its shell left in the dead worker's capture directory;
 * `saveOutput` stores the output the worker had not read (after the guarded finish, so one reaper does) and deletes
 * the attempt's files.
 */
function findFinishedAttempt(lease: LeaseRecord): { exitCode: number; saveOutput(store: Store, limitBytes: number): Promise<void> } | null {
  const dir = findCaptureDirectory(lease.workerId);
  const name = attemptFileName(lease.jobId, lease.attempt);
  const exitCode = dir === null ? null : readExitStatus(dir, name);
  if (dir === null || exitCode === null) return null;
  return {
    exitCode,
    saveOutput: async (store, limitBytes) => {
      const { chunks, truncated } = salvageOutput(dir, name, limitBytes);
      await store.appendOutput({ jobId: lease.jobId, attempt: lease.attempt, chunks, limitBytes, truncated });
      removeAttemptFiles(dir, name);
    },
  };
}

/**
 * Kills what a lost attempt left running on this host: its recorded process group, or, when its worker died before
 * recording it, every group whose processes carry the attempt's marker. Waits up to a second for them to go.
 */
async function killAttemptProcesses(lease: LeaseRecord): Promise<void> {
  const groups = lease.pid !== null ? [lease.pid] : findAttemptProcessGroups(lease.jobId, lease.attempt);
  for (const pgid of groups) signalProcessGroup(pgid, pgid === lease.pid ? lease.pidStart : null, 'SIGKILL');
  for (let i = 0; i < 40 && groups.some((pgid) => processGroupExists(pgid)); i++) await sleep(25);
}

/**
 * Removes registrations of workers that stopped heartbeating, or that ran on this host and exited. A worker that died
 * here holding a job is left to the reaper first: its registration shows it is dead, and its capture directory
 * holds how the job ended.
 */
export async function cleanUpGoneWorkers(params: { store: Store; host: string; staleAfterMs: number }): Promise<string[]> {
  const gone: string[] = [];
  let leaseHolders: Set<string> | null = null;
  for (const worker of await params.store.listWorkers({ staleAfterMs: params.staleAfterMs })) {
    const liveness = workerLiveness(worker, { host: params.host, isProcessAlive });
    if (liveness === 'exited') {
      leaseHolders ??= new Set((await params.store.listLeases()).map((lease) => lease.workerId));
      if (leaseHolders.has(worker.id)) continue;
    }
    if (liveness !== 'alive') {
      await forgetWorker(params.store, worker.id, liveness === 'exited');
      gone.push(worker.id);
    }
  }
  return gone;
}

/**
 * Removes a gone worker's registration, and, when it ran on this host, its capture directory, unless it still holds a
 * job: a reaper reads that job's exit status there (see reapLostJobs).
 */
export async function forgetWorker(store: Store, workerId: string, ranHere: boolean): Promise<void> {
  await store.removeWorker({ workerId });
  if (ranHere && !(await store.listLeases()).some((lease) => lease.workerId === workerId)) removeCaptureDirectory(workerId);
}
