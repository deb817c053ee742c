import { useSpawnEngine, type SpawnEngine } from '../../src/worker/spawn';

/** Both ways a job can be started; tests of the runner and of the spawn itself run against each. */
export const SPAWN_ENGINES: readonly SpawnEngine[] = ['posix_spawn', 'child_process'];

/**
 * Why tests of `engine` must be skipped here (the addon was not built), or false. Under CI=true nothing is
 * skipped: the suite's own `useSpawnEngine` then fails with the reason, since CI must test both engines.
 */
export function skipEngine(engine: SpawnEngine): string | false {
  if (process.env.CI === 'true') return false;
  try {
    useSpawnEngine(engine);
    return false;
  } catch (err) {
    return (err as Error).message;
  } finally {
    useSpawnEngine(null);
  }
}
