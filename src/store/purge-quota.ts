import type { JobState } from '../core/job';
import type { PurgeParams } from './store';

/**
 * The purge's walk, shared by the adapters: for each state in turn, how many jobs it may still take (`limit` counts
 * across states). The adapter sends back how many it took; the walk returns the total.
 */
export function* purgeQuotas(params: PurgeParams): Generator<{ state: JobState; limit: number }, number, number> {
  let remaining = params.limit ?? Number.MAX_SAFE_INTEGER;
  let count = 0;
  for (const state of params.states) {
    const taken = yield { state, limit: Math.min(remaining, 1e9) };
    count += taken;
    remaining -= taken;
    if (remaining <= 0) break;
  }
  return count;
}
