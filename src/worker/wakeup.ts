/** A one-shot signal an idle worker waits on: a wake-up, a stop, or the timeout ends the wait. */
export class Wakeup {
  private pending = false;
  private release: (() => void) | null = null;

  /** Ends the current wait, or the next one at once if nobody waits now. */
  wake(): void {
    if (this.release) this.release();
    else this.pending = true;
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.release = null;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.release = done;
    });
  }
}
