import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/**
 * How big a chaos run is. `QUEUECTL_CHAOS=long` (`npm run chaos`) is the full run of issue 8; the default short
 * profile keeps every chaos file inside `npm test`'s few minutes on a small machine.
 */
export interface ChaosProfile {
  name: 'short' | 'long';
  /** Jobs drained under a kill storm, and the workers draining them. */
  stormJobs: number;
  stormWorkers: number;
  /** Jobs drained while one worker is paused (SIGSTOP) longer than its lease, and how many pauses. */
  pauseJobs: number;
  pauses: number;
  /** Jobs drained through a proxy that black-holes and resets, and through a PostgreSQL restart. */
  networkJobs: number;
  networkFaults: number;
  /** Fuzzed enqueue inputs (JSON objects, and flag combinations). */
  fuzzJson: number;
  fuzzFlags: number;
}

const SHORT: ChaosProfile = { name: 'short', stormJobs: 60, stormWorkers: 3, pauseJobs: 6, pauses: 1, networkJobs: 32, networkFaults: 2, fuzzJson: 60, fuzzFlags: 30 };
const LONG: ChaosProfile = { name: 'long', stormJobs: 500, stormWorkers: 4, pauseJobs: 30, pauses: 3, networkJobs: 200, networkFaults: 6, fuzzJson: 600, fuzzFlags: 300 };

export const PROFILE: ChaosProfile = process.env.QUEUECTL_CHAOS === 'long' ? LONG : SHORT;

/** The figures of one scenario, as docs/RELIABILITY.md reports them. */
export interface ChaosFigures {
  scenario: string;
  backend: string;
  jobs: number;
  faults: number;
  lost: number;
  overlapping: number;
  stuck: number;
  misrecorded: number;
  badInputs: number;
  crashes: number;
  seconds: number;
}

/**
 * Records a scenario's figures: as a test diagnostic always, and appended as one JSON line to
 * `$QUEUECTL_CHAOS_FIGURES` when set (the long run collects them there for the docs).
 */
export function reportFigures(diagnostic: (message: string) => void, figures: ChaosFigures): void {
  diagnostic(`figures ${JSON.stringify(figures)}`);
  const path = process.env.QUEUECTL_CHAOS_FIGURES;
  if (path) appendFileSync(path, `${JSON.stringify({ profile: PROFILE.name, ...figures })}\n`);
}

/**
 * The `skip` option of a scenario that mounts a tmpfs: false when this process may mount (root, with mount(8)), or
 * under CI=true (where it must run, and fail if it cannot); otherwise a one-line reason.
 */
export function tmpfsSkipReason(): string | false {
  if (process.env.CI === 'true') return false;
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root; run as root (CI does) to test a full disk';
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'mount(8) is not available; install util-linux to test a full disk';
  }
}
