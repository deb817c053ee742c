import type { Clock } from '../core/clock';
import { StoreFullError, StoreUnavailableError } from '../core/errors';

/**
 * Writes a result, retrying through store outages (StoreUnavailableError, a full disk) for `forMs`, as long as the
 * lease could still be ours. Any other error is no outage and would fail again: it is given up at once. Returns null
 * when given up (after `onGiveUp`); the caller keeps the result for later (see services/late-reports.ts).
 */
export async function retryThroughOutages<T>(params: {
  clock: Clock;
  forMs: number;
  write: () => Promise<T>;
  onGiveUp: (err: unknown) => void;
}): Promise<T | null> {
  const giveUpAt = params.clock.now() + params.forMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await params.write();
    } catch (err) {
      const outage = err instanceof StoreUnavailableError || err instanceof StoreFullError;
      if (!outage || params.clock.now() > giveUpAt) {
        params.onGiveUp(err);
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
