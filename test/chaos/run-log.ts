import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The jobs' own record of their runs, kept apart from the store: each chaos job appends `START id attempt t` before
 * its work and `END id attempt t rc` after it, to one file in the scratch directory. A run also holds an flock on a
 * file of its job's own for as long as any of its processes lives (the lock goes with the last descriptor), and
 * writes `OVERLAP id attempt t` when it finds the lock taken: a run killed before its END still shows up then.
 */
export class RunLog {
  readonly path: string;
  private readonly locks: string;

  constructor(dir: string) {
    this.path = join(dir, 'runs.log');
    this.locks = join(dir, 'locks');
    mkdirSync(this.locks, { recursive: true });
  }

  /** A job command that records its run around `body` and exits with the body's status. */
  command(body: string): string {
    const stamp = `"$QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT $(date +%s%3N)"`;
    return (
      `exec 9>>${this.locks}/$QUEUECTL_JOB_ID; ` +
      `flock -n 9 || echo OVERLAP ${stamp} >> ${this.path}; ` +
      `echo START ${stamp} >> ${this.path}; ` +
      `${body}; rc=$?; ` +
      `echo END ${stamp} $rc >> ${this.path}; exit $rc`
    );
  }

  /** Every run, by job id, in the order they started. */
  runs(): Map<string, Run[]> {
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      // No job ran yet.
    }
    const byJob = new Map<string, Run[]>();
    const find = (id: string, attempt: number): Run => {
      const runs = byJob.get(id) ?? [];
      byJob.set(id, runs);
      let run = runs.find((r) => r.attempt === attempt);
      if (!run) runs.push((run = { attempt, start: null, end: null, rc: null, overlap: false }));
      return run;
    };
    for (const line of text.split('\n')) {
      const [kind, id, attempt, t, rc] = line.split(' ');
      if (id === undefined || attempt === undefined || t === undefined) continue;
      const run = find(id, Number(attempt));
      if (kind === 'START') run.start = Number(t);
      if (kind === 'OVERLAP') run.overlap = true;
      if (kind === 'END') [run.end, run.rc] = [Number(t), Number(rc)];
    }
    for (const runs of byJob.values()) runs.sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
    return byJob;
  }
}

/** One attempt's run as the job itself recorded it (times in ms since the epoch). */
export interface Run {
  attempt: number;
  start: number | null;
  /** null: the run was killed before its END (or is still going). */
  end: number | null;
  rc: number | null;
  /** It found another run of its job still holding the job's lock. */
  overlap: boolean;
}

/**
 * Pairs of runs of one job that ran at the same time: a run that saw the lock taken, or a run that started before an
 * earlier one's END. A run killed without END is covered by the lock, which its processes held until they died.
 */
export function overlappingRuns(runs: Map<string, Run[]>): string[] {
  const problems: string[] = [];
  for (const [id, list] of runs) {
    for (const run of list) if (run.overlap) problems.push(`${id} attempt ${run.attempt} started while another run of it held its lock`);
    for (let i = 1; i < list.length; i++) {
      const [before, after] = [list[i - 1]!, list[i]!];
      if (before.end !== null && after.start !== null && after.start < before.end) {
        problems.push(`${id} attempt ${after.attempt} started at ${after.start}, before attempt ${before.attempt} ended at ${before.end}`);
      }
    }
  }
  return problems;
}
