/** Calls `fn` every `periodMs()` after the last call ended, until the returned function is called. */
export function repeat(periodMs: () => number, fn: () => Promise<void>): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const next = (): void => {
    timer = setTimeout(() => {
      void fn().finally(() => {
        if (!stopped) next();
      });
    }, periodMs());
  };
  next();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

/**
 * Runs `fn` once after `delayMs`. `settle()` cancels it if it has not started and waits for it if it has, so what it
 * writes never lands after what the caller writes next.
 */
export function later(delayMs: number, fn: () => Promise<unknown>): { settle(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const timer = setTimeout(() => {
    running = fn();
  }, delayMs);
  return {
    settle: async () => {
      clearTimeout(timer);
      await running;
    },
  };
}
