/**
 * The store's wake-ups (Store.subscribe) as something to await: `next(ms)` resolves at the first wake-up since the
 * previous `next`, or after `ms` when none comes. Wake-ups that arrive while nobody awaits are kept as one, so none is
 * lost between two looks and a burst costs one look.
 */
export class WakeSignal {
  private woken = false;
  private release: (() => void) | null = null;

  /** The callback to subscribe with. */
  readonly wake = (): void => {
    this.woken = true;
    this.release?.();
  };

  next(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.release = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.release = done;
    });
  }
}
