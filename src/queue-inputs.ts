import { UsageError } from './core/errors';
import { isJobState, isTerminal, JOB_STATES, type JobState } from './core/job';

/* The names people type for states and signals, checked before anything reaches the store. */

export function parseState(text: string): JobState {
  const state = text.trim().toLowerCase();
  if (!isJobState(state)) throw new UsageError(`unknown state '${text}'; use one of ${JOB_STATES.join(', ')}`);
  return state;
}

/** A state `purge` may delete: completed, dead or cancelled. */
export function parseFinishedState(text: string): JobState {
  const state = parseState(text);
  if (!isTerminal(state)) throw new UsageError(`purge: '${state}' is not a finished state; use completed, dead or cancelled`);
  return state;
}

const SIGNALS = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGSTOP'];

export function parseSignal(text: string): string {
  const upper = text.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!SIGNALS.includes(name)) throw new UsageError(`unknown signal '${text}'; use one of ${SIGNALS.join(', ')}`);
  return name;
}
