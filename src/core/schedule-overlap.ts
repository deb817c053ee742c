import { isTerminal, type JobState } from './job';

/*
 * Kept apart from schedule.ts, which loads croner: the stores decide overlaps inside their fire transaction, and
 * loading a store must not load croner.
 */

/** `--no-overlap`: a tick is skipped while the schedule's previous job has not finished (waiting, queued, retrying, running). */
export function overlapsPreviousJob(noOverlap: boolean, lastJobState: JobState | null): boolean {
  return noOverlap && lastJobState !== null && !isTerminal(lastJobState);
}
